"""The official apps unchanged (REST base still VideoSDK's) with role-less tokens from
`PARTICIPANT_TOKEN_ROLE=none`: the stand-in plays VideoSDK, accepting role-less tokens and
refusing `rtc` ones, as VideoSDK does."""

import jwt

from client_apps import get_token, http, replay_every_app


def test_official_apps_work_unchanged_with_role_less_tokens(deployment, standin):
    fns = deployment("opted-in", PARTICIPANT_TOKEN_ROLE="none")
    auth_url = fns["get-token"].url  # the app appends /get-token
    claims = jwt.decode(get_token(auth_url), options={"verify_signature": False})
    assert "roles" not in claims and claims["permissions"], claims

    def start_hls(room_id):
        status, _, body = fns["create-livestream"].request("POST", body={"roomId": room_id, "type": "hls"})
        assert status == 200, body

    replay_every_app(auth_url, standin, start_hls)


def test_videosdk_refuses_the_apps_rest_calls_with_rtc_tokens(deployment, standin):
    fns = deployment("none")
    token = get_token(fns["get-token"].url)
    status, answer = http("POST", standin + "/v2/rooms", {"Authorization": token, "Content-Type": "application/json"})
    assert status == 403, answer
