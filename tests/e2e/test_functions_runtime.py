"""Every release binary under the Lambda runtime emulator, calling the VideoSDK stand-in with its
own management token: the contract's answers and the contract's upstream requests."""

import json
import time
import urllib.request

import jwt
import pytest

from conftest import API_KEY, FUNCTIONS, ROOT, SECRET, standin_join, standin_requests

STREAM_KEY = "e2e-stream-key-do-not-leak"


def test_meeting_and_livestream_flow(deployment, standin):
    fns = deployment("opted-in")

    status, _, body = fns["get-token"].request("GET")
    assert status == 200
    assert jwt.decode(body["token"], SECRET, algorithms=["HS256"])["apikey"] == API_KEY

    # An older client app: its own token and the discontinued region in the body.
    status, headers, room = fns["create-meeting"].request(
        "POST", body={"token": body["token"], "region": "sg001", "customRoomId": "e2e-standup"})
    assert status == 200, room
    assert headers["cache-control"] == "no-store"
    assert room["roomId"] == room["meetingId"]
    assert room["customRoomId"] == "e2e-standup" and room["disabled"] is False and room["createdAt"]
    room_id = room["roomId"]

    status, _, valid = fns["validate-meeting"].request("POST", f"/{room_id}", body={"token": "client"})
    assert (status, valid) == (200, {"valid": True, "roomId": room_id, "meetingId": room_id, "disabled": False})
    status, _, valid = fns["validate-meeting"].request("GET", "/e2e-standup")
    assert status == 200 and valid["roomId"] == room_id
    status, _, unknown = fns["validate-meeting"].request("GET", "/zzzz-zzzz-zzzz")
    assert status == 404 and unknown["valid"] is False and unknown["error"]["code"] == "not_found"
    status, _, bad = fns["validate-meeting"].request("GET", "/a%20b")
    assert (status, bad["error"]["code"]) == (400, "invalid_field")

    outputs = [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": STREAM_KEY}]
    status, _, started = fns["create-livestream"].request("POST", body={"roomId": room_id, "outputs": outputs})
    assert (status, started) == (200, {"roomId": room_id, "type": "rtmp", "status": "started"})
    status, _, again = fns["create-livestream"].request("POST", body={"roomId": room_id, "outputs": outputs})
    assert (status, again["error"]["code"]) == (409, "conflict")
    status, _, ended = fns["end-livestream"].request("POST", body={"roomId": room_id})
    assert (status, ended) == (200, {"roomId": room_id, "type": "rtmp", "status": "ended"})

    status, _, hls = fns["create-livestream"].request("POST", body={"roomId": room_id, "type": "hls"})
    assert status == 200, hls
    assert hls["playbackHlsUrl"].endswith(".m3u8") and hls["livestreamUrl"] and hls["sessionId"]
    assert "downstreamUrl" not in hls
    status, _, ended = fns["end-livestream"].request("POST", body={"roomId": room_id, "type": "hls"})
    assert (status, ended["status"]) == (200, "ended")
    status, _, gone = fns["end-livestream"].request("POST", body={"roomId": "zzzz-zzzz-zzzz"})
    assert (status, gone["error"]["code"]) == (404, "not_found")

    received = standin_requests(standin)
    assert [r["path"] for r in received] == [
        "/v2/rooms",
        "/v2/rooms/validate/" + room_id,
        "/v2/rooms/validate/e2e-standup",
        "/v2/rooms/validate/zzzz-zzzz-zzzz",
        "/v2/livestreams/start",
        "/v2/livestreams/start",
        "/v2/livestreams/end",
        "/v2/hls/start",
        "/v2/hls/end",
        "/v2/livestreams/end",
    ]
    assert all(r["authorization"] == "valid crawler token" for r in received), received
    assert received[0]["body"] == {"customRoomId": "e2e-standup"}
    assert received[4]["body"] == {"roomId": room_id, "outputs": outputs}

    for fn in fns.values():
        log = fn.log()
        assert STREAM_KEY not in log and SECRET not in log, fn.name


# Expected status of each stored event, per CALLER_AUTH mode.
EVENT_STATUS = {
    "get-token-anonymous.json": {"none": 200, "opted-in": 200, "jwt": 401},
    "get-token-query.json": {"none": 200, "opted-in": 200, "jwt": 401},
    "get-token-post.json": {"none": 200, "opted-in": 200, "jwt": 401},
    "get-token-user.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "get-token-moderator.json": {"none": 403, "opted-in": 403, "jwt": 200},
    "get-token-user-asks-allow-mod.json": {"none": 403, "opted-in": 403, "jwt": 403},
    "get-token-missing-identity.json": {"none": 200, "opted-in": 200, "jwt": 401},
    # It names a customRoomId: anonymous callers (none) may not, unless opted in.
    "create-meeting.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "create-meeting-legacy-client.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "create-meeting-missing-identity.json": {"none": 200, "opted-in": 200, "jwt": 401},
    "create-meeting-moderator.json": {"none": 403, "opted-in": 403, "jwt": 200},
    "create-meeting-not-moderator-webhook.json": {"none": 403, "opted-in": 403, "jwt": 403},
    "validate-meeting.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "validate-meeting-get.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "validate-meeting-moderator.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "create-meeting-apps-no-token.json": {"none": 401, "opted-in": 401, "jwt": 401},
    "validate-meeting-apps-no-token.json": {"none": 401, "opted-in": 401, "jwt": 401},
    "validate-meeting-missing-identity.json": {"none": 200, "opted-in": 200, "jwt": 401},
    "create-livestream-rtmp.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "end-livestream.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "create-livestream-hls.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "end-livestream-hls.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "create-livestream-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
    "end-livestream-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
    "create-livestream-missing-identity.json": {"none": 403, "opted-in": 200, "jwt": 401},
    "end-livestream-missing-identity.json": {"none": 403, "opted-in": 200, "jwt": 401},
    # After the join. The key is fetched from the stand-in; no EVENT_BUS_NAME: logged.
    "videosdk-webhook.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "videosdk-webhook-forged.json": {"none": 401, "opted-in": 401, "jwt": 401},
    "videosdk-webhook-unsigned.json": {"none": 401, "opted-in": 401, "jwt": 401},
    # Validly signed, but not addressed to this deployment's WEBHOOK_KEY: 404 before anything else.
    "videosdk-webhook-no-key.json": {"none": 404, "opted-in": 404, "jwt": 404},
    "videosdk-webhook-wrong-key.json": {"none": 404, "opted-in": 404, "jwt": 404},
    "agent-token.json": {"none": 200, "opted-in": 200, "jwt": 200},
    "agent-token-jwt-caller.json": {"none": 403, "opted-in": 200, "jwt": 401},
    "agent-token-no-identity.json": {"none": 403, "opted-in": 200, "jwt": 401},
    # In order: the sample room has a live session (create_sample_room joins it).
    "start-recording.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "end-recording.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "start-recording-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
    "end-recording-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
    "start-recording-caller-storage.json": {"none": 403, "opted-in": 400, "jwt": 400},
    "list-recordings.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "list-recordings-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
    # AI agents (AGENTS lists dev-agent, and pinned-agent pinned to pinned-v1).
    "dispatch-agent.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "dispatch-agent-missing-identity.json": {"none": 403, "opted-in": 200, "jwt": 401},
    "dispatch-agent-sip.json": {"none": 403, "opted-in": 400, "jwt": 400},
    "dispatch-agent-not-listed.json": {"none": 403, "opted-in": 403, "jwt": 403},
    "dispatch-agent-other-version.json": {"none": 403, "opted-in": 403, "jwt": 403},
    "dispatch-agent-app-no-token.json": {"none": 401, "opted-in": 401, "jwt": 401},
    "dispatch-agent-app-forged-token.json": {"none": 401, "opted-in": 401, "jwt": 401},
    "dispatch-agent-versions-no-token.json": {"none": 401, "opted-in": 401, "jwt": 401},
    # In order, while the session lives: opted-in, the second start finds one running (409) and
    # the second end finds none (VideoSDK's 400).
    "start-transcription.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "start-transcription-caller-webhook.json": {"none": 403, "opted-in": 400, "jwt": 400},
    "start-transcription-not-moderator.json": {"none": 403, "opted-in": 409, "jwt": 403},
    "end-transcription.json": {"none": 403, "opted-in": 200, "jwt": 200},
    "end-transcription-not-moderator.json": {"none": 403, "opted-in": 422, "jwt": 403},
    "end-meeting.json": {"none": 403, "opted-in": 200, "jwt": 200},
    # opted-in: the meeting has just been ended: no session to end, answered 200 with ended: false.
    "end-meeting-not-moderator.json": {"none": 403, "opted-in": 200, "jwt": 403},
}


def function_of(event_file):
    for name in sorted(FUNCTIONS, key=len, reverse=True):
        if event_file.startswith(name):
            return name
    raise AssertionError(f"no function for {event_file}")


def test_every_stored_event_is_listed():
    assert sorted(p.name for p in (ROOT / "events").glob("*.json")) == sorted(EVENT_STATUS)


def create_sample_room(standin):
    """Creates the room the sample events name, straight in the stand-in, with a crawler token."""
    token = jwt.encode({"apikey": API_KEY, "permissions": ["allow_join", "allow_mod"], "version": 2,
                        "roles": ["crawler"], "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    req = urllib.request.Request(standin + "/v2/rooms", method="POST", data=b'{"customRoomId": "abcd-efgh-ijkl"}',
                                 headers={"Authorization": token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    standin_join(standin, "abcd-efgh-ijkl")


@pytest.mark.parametrize("mode", ["jwt", "none", "opted-in"])
def test_cargo_lambda_invoke_with_every_stored_event(deployment, standin, mode):
    fns = deployment(mode)
    create_sample_room(standin)
    for event_file, expected in EVENT_STATUS.items():
        answer = fns[function_of(event_file)].invoke(event_file)
        assert answer["statusCode"] == expected[mode], (event_file, answer)
        assert answer["headers"]["cache-control"] == "no-store"
        json.loads(answer["body"])


def hostile_events():
    """Events API Gateway may pass through that made lambda_http 1.3 panic while converting them
    (before any handler ran); with panic=abort each one killed the sandbox (SIGABRT, no answer)."""
    base = json.loads((ROOT / "events" / "get-token-query.json").read_text())

    def variant(raw_query="", path=None, **headers):
        event = json.loads(json.dumps(base))
        event["rawQueryString"] = raw_query
        event.pop("queryStringParameters", None)
        if path is not None:
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["headers"].update(headers)
        return event

    return [
        variant('roomId="abc def<x>'),
        variant("a=b\x7f"),
        variant("a=b c"),
        variant("", host="api example.com"),
        variant("", **{"x-forwarded-proto": "ht tp"}),
        variant("", path=":99999"),
    ]


def test_hostile_events_get_a_json_answer_and_the_sandbox_lives(deployment):
    fns = deployment("none")
    for name, fn in fns.items():
        pid = fn.proc.pid
        for event in hostile_events():
            answer = fn.invoke_event(event)
            assert answer["statusCode"] < 500, (name, event["rawQueryString"], answer)
            assert isinstance(json.loads(answer["body"]), dict)
            assert fn.proc.poll() is None, f"{name} died on {event['rawQueryString']!r}: {fn.log()[-2000:]}"
        # The same process goes on serving.
        assert fn.proc.pid == pid and fn.proc.poll() is None
        assert "panicked" not in fn.log(), name
    assert set(fns) == set(FUNCTIONS)
