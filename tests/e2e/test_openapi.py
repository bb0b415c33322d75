"""openapi.yaml is a valid OpenAPI document, and real answers of the packaged binaries (through
the Lambda runtime emulator, VideoSDK played by the stand-in) match it: every status is
documented for its route, and every body validates against the documented schema."""

import json

import jsonschema
import yaml
from openapi_spec_validator import validate

from conftest import DEV_WEBHOOK_KEY, ROOT

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
ROUTE = {
    "get-token": "/get-token",
    "create-meeting": "/create-meeting",
    "validate-meeting": "/validate-meeting/{meetingId}",
    "create-livestream": "/create-livestream",
    "end-livestream": "/end-livestream",
    "videosdk-webhook": "/videosdk-webhook/{key}",
    "start-recording": "/start-recording",
    "end-recording": "/end-recording",
    "list-recordings": "/recordings",
    "end-meeting": "/end-meeting",
    "agent-token": "/agent-token",
    "dispatch-agent": "/dispatch-agent",
    "start-transcription": "/start-transcription",
    "end-transcription": "/end-transcription",
}
# The apps' VideoSDK REST calls, served by create-meeting and validate-meeting.
CLIENT_PATHS = {"/v2/rooms", "/v2/rooms/validate/{roomId}", "/v2/sessions", "/v2/sessions/", "/v2/hls/{roomId}/active",
                "/v2/agent/dispatch", "/ai/v1/agents/{agentId}/versions"}


def lookup(ref):
    node = SPEC
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def schema_for(function, method, status, route=None):
    route = route or ROUTE[function]
    path = SPEC["paths"][route]
    if method.lower() not in path:
        # A method the route does not have: always 405 with the error envelope (VideoSDK's
        # routes: with its top-level message too).
        assert status == 405, f"{method} {route} answered {status}"
        videosdk_route = route.startswith(("/v2/", "/ai/"))
        return lookup("#/components/schemas/VideoSdkError" if videosdk_route else "#/components/schemas/Error")
    operation = path[method.lower()]
    assert str(status) in operation["responses"], f"{method} {route} does not document {status}"
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = lookup(response["$ref"])
    return response["content"]["application/json"]["schema"]


def check(function, method, status, headers, body, route=None):
    schema = schema_for(function, method, status, route)
    # Validate with the whole document as the root, so "#/components/..." references resolve.
    jsonschema.Draft202012Validator({**SPEC, **schema}).validate(body)
    assert headers.get("cache-control") == "no-store"


def test_the_spec_is_valid_openapi():
    validate(SPEC)
    assert set(ROUTE.values()) | CLIENT_PATHS == set(SPEC["paths"])


def test_real_answers_match_the_spec(deployment):
    fns = deployment("opted-in")
    seen = []

    def req(function, method, path="/", route=None, **kw):
        status, headers, body = fns[function].request(method, path, **kw)
        headers = {k.lower(): v for k, v in headers.items()}
        check(function, method, status, headers, body, route)
        seen.append((function, method, status))
        return status, body

    assert req("get-token", "GET", query="roomId=abcd-efgh-ijkl&ttl=120")[0] == 200
    assert req("get-token", "POST", body={"permissions": ["ask_join"], "peerId": "p-1"})[0] == 200
    assert req("get-token", "GET", query="ttl=5")[0] == 400
    assert req("get-token", "POST", body={"nope": 1})[0] == 400
    assert req("get-token", "POST", body=b'{"roomId": "x"', headers={"Content-Type": "application/json"})[0] == 400
    assert req("get-token", "POST", body={"roomId": "a" * 17_000})[0] == 413
    assert req("get-token", "GET", query="permissions=allow_mod")[0] == 403
    assert req("get-token", "PUT", body={})[0] == 405

    status, room = req("create-meeting", "POST", body={"customRoomId": "spec-room", "token": "t", "region": "sg001"})
    assert status == 200
    room_id = room["roomId"]
    assert req("create-meeting", "POST", body={"webhook": {"endPoint": "http://insecure.example.com"}})[0] == 400
    assert req("validate-meeting", "GET", f"/{room_id}")[0] == 200
    assert req("validate-meeting", "POST", "/spec-room", body={"token": "t"})[0] == 200
    assert req("validate-meeting", "GET", "/zzzz-zzzz-zzzz")[0] == 404
    assert req("validate-meeting", "GET", "/a%20b")[0] == 400

    outputs = [{"url": "rtmps://live.twitch.tv/app", "streamKey": "spec-key"}]
    assert req("create-livestream", "POST", body={"roomId": room_id, "outputs": outputs})[0] == 200
    assert req("create-livestream", "POST", body={"roomId": room_id, "outputs": outputs})[0] == 409
    assert req("end-livestream", "POST", body={"roomId": room_id})[0] == 200
    assert req("create-livestream", "POST", body={"roomId": room_id, "type": "hls"})[0] == 200
    assert req("end-livestream", "POST", body={"roomId": room_id, "type": "hls"})[0] == 200
    assert req("end-livestream", "POST", body={"roomId": "zzzz-zzzz-zzzz"})[0] == 404
    assert req("create-livestream", "POST", body={"roomId": room_id, "outputs": [{"url": "file:///x", "streamKey": "k"}]})[0] == 400
    assert req("end-livestream", "GET")[0] == 405

    token = {"Authorization": req("get-token", "GET")[1]["token"]}
    status, apps_room = req("create-meeting", "POST", "/v2/rooms", "/v2/rooms", headers=token)
    assert status == 200
    apps_id = apps_room["roomId"]
    assert req("create-meeting", "POST", "/v2/rooms", "/v2/rooms")[0] == 401
    assert req("validate-meeting", "GET", f"/v2/rooms/validate/{apps_id}", "/v2/rooms/validate/{roomId}",
               headers=token)[0] == 200
    assert req("validate-meeting", "GET", "/v2/rooms/validate/zzzz-zzzz-zzzz", "/v2/rooms/validate/{roomId}",
               headers=token)[0] == 404
    assert req("validate-meeting", "GET", "/v2/hls/zzzz-zzzz-zzzz/active", "/v2/hls/{roomId}/active",
               headers=token)[0] == 404
    assert req("create-livestream", "POST", body={"roomId": apps_id, "type": "hls"})[0] == 200
    assert req("validate-meeting", "GET", f"/v2/hls/{apps_id}/active", "/v2/hls/{roomId}/active",
               headers=token)[0] == 200
    assert req("validate-meeting", "GET", "/v2/sessions", "/v2/sessions", query=f"roomId={apps_id}",
               headers=token)[0] == 200
    assert req("validate-meeting", "GET", "/v2/sessions/", "/v2/sessions/", query="roomId=a%2Fb",
               headers=token)[0] == 400

    # After the join.
    from conftest import standin_join
    standin = fns["create-meeting"].standin
    standin_join(standin, room_id)
    assert req("start-recording", "POST", body={"roomId": room_id, "config": {"mode": "audio"}})[0] == 200
    assert req("start-recording", "POST", body={"roomId": room_id})[0] == 409
    assert req("start-recording", "POST", body={"roomId": room_id, "awsDirPath": "x/"})[0] == 400
    assert req("end-recording", "POST", body={"roomId": room_id})[0] == 200
    assert req("end-recording", "POST", body={"roomId": room_id})[0] == 422
    assert req("list-recordings", "GET", query=f"roomId={room_id}&perPage=5")[0] == 200
    assert req("list-recordings", "GET", query="roomId=r&perPage=500")[0] == 400
    assert req("end-meeting", "POST", body={"roomId": room_id, "deactivate": True})[0] == 200
    assert req("end-meeting", "POST", body={"roomId": room_id})[0] == 200  # no live session: ended false
    assert req("end-meeting", "POST", body={"roomId": "zzzz-zzzz-zzzz"})[0] == 404
    # AI agents in the app (AGENTS: dev-agent, and pinned-agent pinned to pinned-v1).
    assert req("validate-meeting", "POST", f"/v2/rooms/validate/{apps_id}", "/v2/rooms/validate/{roomId}",
               headers=token, body={"token": token["Authorization"]})[0] == 200
    versions = "/ai/v1/agents/{agentId}/versions"
    status, listed = req("dispatch-agent", "GET", "/ai/v1/agents/dev-agent/versions", versions, headers=token)
    assert status == 200 and listed["versions"][0]["versionId"] == "dev-agent-v2", listed
    assert req("dispatch-agent", "GET", "/ai/v1/agents/pinned-agent/versions", versions, headers=token)[0] == 200
    assert req("dispatch-agent", "GET", "/ai/v1/agents/other/versions", versions, headers=token)[0] == 403
    assert req("dispatch-agent", "GET", "/ai/v1/agents/dev-agent/versions", versions)[0] == 401
    dispatch = {"meetingId": apps_id, "agentId": "dev-agent", "versionId": "dev-agent-v2", "versionTag": "dev-agent-v2"}
    assert req("dispatch-agent", "POST", "/v2/agent/dispatch", "/v2/agent/dispatch", headers=token,
               body=dispatch)[0] == 200
    assert req("dispatch-agent", "POST", "/v2/agent/dispatch", "/v2/agent/dispatch", headers=token,
               body={**dispatch, "sipOptions": {"to": "+15550100"}})[0] == 400
    assert req("dispatch-agent", "POST", "/v2/agent/dispatch", "/v2/agent/dispatch", headers=token,
               body={"meetingId": apps_id, "agentId": "pinned-agent", "versionTag": "v9"})[0] == 403
    assert req("dispatch-agent", "POST", "/v2/agent/dispatch", "/v2/agent/dispatch", headers=token,
               body={"meetingId": "zzzz-zzzz-zzzz", "agentId": "dev-agent"})[0] == 404
    assert req("dispatch-agent", "GET", "/v2/agent/dispatch", "/v2/agent/dispatch", headers=token)[0] == 405
    assert req("dispatch-agent", "POST", body={"meetingId": apps_id, "agentId": "dev-agent"})[0] == 200
    assert req("dispatch-agent", "POST", body={"meetingId": apps_id, "agentId": "x"})[0] == 403
    assert req("start-transcription", "POST", body={"roomId": apps_id, "language": "en-US",
                                                    "summary": {"enabled": True, "prompt": "Decisions"}})[0] == 200
    assert req("start-transcription", "POST", body={"roomId": apps_id})[0] == 409
    assert req("start-transcription", "POST", body={"roomId": apps_id, "modelId": "m"})[0] == 400
    assert req("end-transcription", "POST", body={"roomId": apps_id})[0] == 200
    assert req("end-transcription", "POST", body={"roomId": apps_id})[0] == 422

    assert req("agent-token", "POST", body={"roomId": room_id, "ttl": 600})[0] == 200
    assert req("agent-token", "POST", body={"ttl": 7200})[0] == 400
    raw = (ROOT / "events" / "videosdk-webhook.json").read_text()
    sample = json.loads(raw)
    signed = {"videosdk-signature": sample["headers"]["videosdk-signature"], "Content-Type": "application/json"}
    keyed = f"/videosdk-webhook/{DEV_WEBHOOK_KEY}"
    assert req("videosdk-webhook", "POST", keyed, body=sample["body"].encode(), headers=signed)[0] == 200
    assert req("videosdk-webhook", "POST", keyed, body=b'{"webhookType":"x"}', headers=signed)[0] == 401
    assert req("videosdk-webhook", "POST", "/videosdk-webhook", body=sample["body"].encode(), headers=signed)[0] == 404
    assert req("videosdk-webhook", "GET", keyed)[0] == 405

    assert {f for f, _, _ in seen} == set(ROUTE)
