"""Role-less tokens (`PARTICIPANT_TOKEN_ROLE=none`) against the stand-in, which plays VideoSDK:
accepting role-less tokens and refusing `rtc` ones, as VideoSDK does. Role-less tokens work on
VideoSDK's REST API, so they are only for signed-in callers: with anonymous callers every function
refuses to serve."""

import json

import jwt

from client_apps import get_token, http


def test_role_less_tokens_for_anonymous_callers_are_refused_by_every_function(deployment):
    fns = deployment("opted-in", PARTICIPANT_TOKEN_ROLE="none")
    for name, fn in fns.items():
        status, _, body = fn.request("POST", body={})
        assert status == 500, (name, body)
        assert body["error"]["code"] == "configuration_error", (name, body)
        assert body["error"]["details"]["settings"] == ["PARTICIPANT_TOKEN_ROLE", "CALLER_AUTH"], (name, body)
        assert "token" not in body, name
        assert "PARTICIPANT_TOKEN_ROLE" in fn.log()


def test_signed_in_users_role_less_tokens_work_on_videosdk_itself(deployment, standin):
    fns = deployment("jwt", PARTICIPANT_TOKEN_ROLE="none")
    answer = fns["get-token"].invoke("get-token-user.json")
    assert answer["statusCode"] == 200, answer
    token = json.loads(answer["body"])["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "roles" not in claims and claims["permissions"], claims
    status, room = http("POST", standin + "/v2/rooms", {"Authorization": token, "Content-Type": "application/json"})
    assert status == 200 and json.loads(room)["roomId"], room


def test_videosdk_refuses_the_apps_rest_calls_with_rtc_tokens(deployment, standin):
    fns = deployment("none")
    token = get_token(fns["get-token"].url)
    status, answer = http("POST", standin + "/v2/rooms", {"Authorization": token, "Content-Type": "application/json"})
    assert status == 403, answer
