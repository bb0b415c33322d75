"""Writes the API Gateway HTTP API (payload 2.0) sample events in events/.

Run `python3 tools/make_events.py` after changing an event here; tests read the files.
"""

import base64
import hashlib
import hmac
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
# The stand-in's development key (obviously not VideoSDK's): `make dev` verifies these events.
DEV_KEY = ROOT / "dev/videosdk-standin/keys/dev-webhook-private-key.pem"
AGENT_ROLE = "arn:aws:sts::123456789012:assumed-role/videosdk-agent/i-0abc123def4567890"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
USER = "6b1f0c3e-5d2a-4f7b-9a8e-1c2d3e4f5a6b"
MODERATOR = "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"


def event(method, route, path, query="", body=None, claims=None, path_params=None, iam=None, raw_body=None,
          extra_headers=None):
    ctx = {
        "accountId": "123456789012", "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                 "userAgent": "Mozilla/5.0"},
        "requestId": "Jm1aXhkqIAMEV0A=", "routeKey": f"{method} {route}", "stage": "$default",
        "time": "23/Nov/2026:11:00:00 +0000", "timeEpoch": 1795345200000,
    }
    if claims is not None:
        ctx["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if iam is not None:
        ctx["authorizer"] = {"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012",
                                     "callerId": "AROAEXAMPLE:i-0abc123def4567890", "principalOrgId": None,
                                     "userArn": iam, "userId": "AROAEXAMPLE:i-0abc123def4567890"}}
    headers = {"accept": "application/json", "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
               "origin": "http://localhost:3000", "user-agent": "Mozilla/5.0"}
    if claims is not None:
        headers["authorization"] = "Bearer <the caller's ID token, verified by API Gateway>"
    e = {"version": "2.0", "routeKey": f"{method} {route}", "rawPath": path, "rawQueryString": query,
         "headers": headers, "requestContext": ctx, "isBase64Encoded": False}
    if query:
        e["queryStringParameters"] = dict(part.partition("=")[::2] for part in query.split("&"))
    if body is not None:
        headers["content-type"] = "application/json"
        e["body"] = json.dumps(body)
    if raw_body is not None:
        headers["content-type"] = "application/json"
        e["body"] = raw_body
    headers.update(extra_headers or {})
    if path_params:
        e["pathParameters"] = path_params
    return e


def signed(body_bytes):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(DEV_KEY)], input=body_bytes,
                         capture_output=True, check=True).stdout
    return base64.b64encode(out).decode()


# The development webhook key (`make dev`'s WEBHOOK_KEY with the stand-in; obviously not a
# deployment's, which the template generates).
DEV_WEBHOOK_KEY = "dev-webhook-key-not-secret-0123456789"


def webhook(body, signature, key=DEV_WEBHOOK_KEY):
    headers = {"user-agent": "VideoSDK-Webhook"}
    if signature is not None:
        headers["videosdk-signature"] = signature
    if key is None:
        e = event("POST", "/videosdk-webhook", "/videosdk-webhook", raw_body=body, extra_headers=headers)
    else:
        e = event("POST", "/videosdk-webhook/{key}", f"/videosdk-webhook/{key}", raw_body=body,
                  extra_headers=headers, path_params={"key": key})
    del e["headers"]["origin"]
    return e


RECORDING_STOPPED = json.dumps({"webhookType": "recording-stopped", "data": {
    "meetingId": "abcd-efgh-ijkl", "sessionId": "6523a1b2c3d4e5f6a7b8c9d0",
    "filePath": "recordings/abcd-efgh-ijkl/6523a1b2c3d4e5f6a7b8c9d0.mp4",
    "fileUrl": "https://cdn.videosdk.live/recordings/abcd-efgh-ijkl/6523a1b2c3d4e5f6a7b8c9d0.mp4"}},
    separators=(",", ":"))


def user(sub, groups=None):
    c = {"sub": sub, "iss": ISSUER, "aud": "3n4b5urk1ft4fl3mg5e62d9ado", "token_use": "id",
         "auth_time": "1795345100", "exp": "1795348700", "iat": "1795345100", "email": f"{sub[:8]}@example.com"}
    if groups is not None:
        c["cognito:groups"] = groups
    return c


MOD = user(MODERATOR, "[videosdk-moderators staff]")
STAFF = user(USER, "[staff]")
LEGACY_TOKEN = "eyJhbGciOiJIUzI1NiJ9.client-sent-token.never-forwarded"


def forged_token():
    """A participant token in every way but its signature (another secret), valid until 2100."""
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    head = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64({
        "apikey": "dev-api-key-not-for-videosdk", "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
        "iat": 1795345200, "exp": 4102444800, "jti": "00000000-0000-4000-8000-00000000f0e9"})
    mac = hmac.new(b"not-this-servers-secret", head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


FORGED_TOKEN = forged_token()
RTMP_BODY = {"roomId": "abcd-efgh-ijkl", "type": "rtmp",
             "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "sample-stream-key-0000"}],
             "config": {"layout": {"type": "GRID", "priority": "SPEAKER", "gridSize": 4}, "theme": "DARK"}}

FILES = {
    "get-token-anonymous.json": event("GET", "/get-token", "/get-token"),
    "get-token-query.json": event("GET", "/get-token", "/get-token",
                                  "roomId=abcd-efgh-ijkl&participantId=guest-42&permissions=ask_join&ttl=600"),
    "get-token-post.json": event("POST", "/get-token", "/get-token", body={
        "roomId": "abcd-efgh-ijkl", "participantId": "guest-42", "permissions": ["allow_join"], "ttl": 3600}),
    "get-token-user.json": event("GET", "/get-token", "/get-token", "roomId=abcd-efgh-ijkl", claims=STAFF),
    "get-token-moderator.json": event("POST", "/get-token", "/get-token", body={
        "permissions": ["allow_join", "allow_mod"], "roomId": "abcd-efgh-ijkl"}, claims=MOD),
    "get-token-user-asks-allow-mod.json": event("POST", "/get-token", "/get-token", body={
        "permissions": ["allow_join", "allow_mod"]}, claims=STAFF),
    "get-token-missing-identity.json": event("GET", "/get-token", "/get-token", claims={
        "iss": ISSUER, "token_use": "access", "client_id": "3n4b5urk1ft4fl3mg5e62d9ado"}),
    "create-meeting.json": event("POST", "/create-meeting", "/create-meeting", body={
        "customRoomId": "weekly-standup"}, claims=STAFF),
    "create-meeting-not-moderator-webhook.json": event("POST", "/create-meeting", "/create-meeting", body={
        "customRoomId": "weekly-allhands", "webhook": {"endPoint": "https://attacker.example.com/hook"}},
        claims=STAFF),
    "create-meeting-legacy-client.json": event("POST", "/create-meeting", "/create-meeting", body={
        "token": LEGACY_TOKEN, "region": "sg001"}, claims=STAFF),
    "create-meeting-missing-identity.json": event("POST", "/create-meeting", "/create-meeting", body={}),
    "validate-meeting.json": event("POST", "/validate-meeting/{meetingId}", "/validate-meeting/abcd-efgh-ijkl",
                                   body={"token": LEGACY_TOKEN}, claims=STAFF,
                                   path_params={"meetingId": "abcd-efgh-ijkl"}),
    "validate-meeting-get.json": event("GET", "/validate-meeting/{meetingId}", "/validate-meeting/abcd-efgh-ijkl",
                                       claims=STAFF, path_params={"meetingId": "abcd-efgh-ijkl"}),
    "create-livestream-rtmp.json": event("POST", "/create-livestream", "/create-livestream", body=RTMP_BODY, claims=MOD),
    "create-livestream-hls.json": event("POST", "/create-livestream", "/create-livestream", body={
        "roomId": "abcd-efgh-ijkl", "type": "hls", "config": {"orientation": "landscape", "quality": "high"}},
        claims=MOD),
    "create-livestream-not-moderator.json": event("POST", "/create-livestream", "/create-livestream",
                                                  body=RTMP_BODY, claims=STAFF),
    "end-livestream.json": event("POST", "/end-livestream", "/end-livestream", body={
        "roomId": "abcd-efgh-ijkl", "type": "rtmp"}, claims=MOD),
    "create-meeting-moderator.json": event("POST", "/create-meeting", "/create-meeting", body={
        "webhook": {"endPoint": "https://hooks.example.com/videosdk", "events": ["session-ended"]}}, claims=MOD),
    "validate-meeting-moderator.json": event("GET", "/validate-meeting/{meetingId}", "/validate-meeting/abcd-efgh-ijkl",
                                             claims=MOD, path_params={"meetingId": "abcd-efgh-ijkl"}),
    "validate-meeting-missing-identity.json": event("GET", "/validate-meeting/{meetingId}",
                                                    "/validate-meeting/abcd-efgh-ijkl",
                                                    path_params={"meetingId": "abcd-efgh-ijkl"}),
    "create-livestream-missing-identity.json": event("POST", "/create-livestream", "/create-livestream",
                                                     body=RTMP_BODY),
    "end-livestream-not-moderator.json": event("POST", "/end-livestream", "/end-livestream", body={
        "roomId": "abcd-efgh-ijkl"}, claims=STAFF),
    "end-livestream-missing-identity.json": event("POST", "/end-livestream", "/end-livestream", body={
        "roomId": "abcd-efgh-ijkl"}),
    "end-livestream-hls.json": event("POST", "/end-livestream", "/end-livestream", body={
        "roomId": "abcd-efgh-ijkl", "type": "hls"}, claims=MOD),
    # The apps' VideoSDK REST calls without the token from get-token (the authorizer never applies).
    "create-meeting-apps-no-token.json": event("POST", "/v2/rooms", "/v2/rooms"),
    "validate-meeting-apps-no-token.json": event("GET", "/v2/rooms/validate/{roomId}",
                                                 "/v2/rooms/validate/abcd-efgh-ijkl",
                                                 path_params={"roomId": "abcd-efgh-ijkl"}),
    # After the join: webhooks, recordings, ending a meeting, agent tokens.
    "videosdk-webhook.json": webhook(RECORDING_STOPPED, signed(RECORDING_STOPPED.encode())),
    "videosdk-webhook-forged.json": webhook(RECORDING_STOPPED.replace("abcd-efgh-ijkl", "zzzz-zzzz-zzzz"),
                                            signed(RECORDING_STOPPED.encode())),
    "videosdk-webhook-unsigned.json": webhook(RECORDING_STOPPED, None),
    # Validly signed, but not addressed to this deployment: no key, a key differing in its last character.
    "videosdk-webhook-no-key.json": webhook(RECORDING_STOPPED, signed(RECORDING_STOPPED.encode()), key=None),
    "videosdk-webhook-wrong-key.json": webhook(RECORDING_STOPPED, signed(RECORDING_STOPPED.encode()),
                                               key=DEV_WEBHOOK_KEY[:-1] + "X"),
    "start-recording.json": event("POST", "/start-recording", "/start-recording", body={
        "roomId": "abcd-efgh-ijkl", "config": {"layout": {"type": "GRID", "priority": "SPEAKER", "gridSize": 4},
                                               "theme": "DARK", "mode": "video-and-audio", "quality": "high"},
        "transcription": {"enabled": True, "summary": {"enabled": True}}}, claims=MOD),
    "start-recording-not-moderator.json": event("POST", "/start-recording", "/start-recording", body={
        "roomId": "abcd-efgh-ijkl"}, claims=STAFF),
    "start-recording-caller-storage.json": event("POST", "/start-recording", "/start-recording", body={
        "roomId": "abcd-efgh-ijkl", "awsDirPath": "attacker-bucket/", "webhookUrl": "https://attacker.example.com/h"},
        claims=MOD),
    "end-recording.json": event("POST", "/end-recording", "/end-recording", body={"roomId": "abcd-efgh-ijkl"},
                                claims=MOD),
    "end-recording-not-moderator.json": event("POST", "/end-recording", "/end-recording",
                                              body={"roomId": "abcd-efgh-ijkl"}, claims=STAFF),
    "list-recordings.json": event("GET", "/recordings", "/recordings", "roomId=abcd-efgh-ijkl&page=1&perPage=20",
                                  claims=MOD),
    "list-recordings-not-moderator.json": event("GET", "/recordings", "/recordings", "roomId=abcd-efgh-ijkl",
                                                claims=STAFF),
    "end-meeting.json": event("POST", "/end-meeting", "/end-meeting", body={
        "roomId": "abcd-efgh-ijkl", "deactivate": True}, claims=MOD),
    "end-meeting-not-moderator.json": event("POST", "/end-meeting", "/end-meeting", body={
        "roomId": "abcd-efgh-ijkl"}, claims=STAFF),
    "agent-token.json": event("POST", "/agent-token", "/agent-token", body={
        "roomId": "abcd-efgh-ijkl", "ttl": 1800}, iam=AGENT_ROLE),
    "agent-token-jwt-caller.json": event("POST", "/agent-token", "/agent-token", body={}, claims=MOD),
    "agent-token-no-identity.json": event("POST", "/agent-token", "/agent-token", body={}),
    # AI agents in the app. The apps' routes carry a participant token, which expires: the stored
    # events hold only their refusals (no token, a forged one); tests mint a fresh token for the rest.
    "dispatch-agent.json": event("POST", "/dispatch-agent", "/dispatch-agent", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent", "metadata": {"variables": {"name": "Ada"}}},
        claims=STAFF),
    "dispatch-agent-missing-identity.json": event("POST", "/dispatch-agent", "/dispatch-agent", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent"}),
    "dispatch-agent-sip.json": event("POST", "/dispatch-agent", "/dispatch-agent", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent",
        "sipOptions": {"to": "+15550100", "trunkId": "trunk-1"}}, claims=STAFF),
    "dispatch-agent-not-listed.json": event("POST", "/dispatch-agent", "/dispatch-agent", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "someone-elses-agent"}, claims=STAFF),
    "dispatch-agent-other-version.json": event("POST", "/dispatch-agent", "/dispatch-agent", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "pinned-agent", "versionId": "pinned-v2"}, claims=STAFF),
    "dispatch-agent-app-no-token.json": event("POST", "/v2/agent/dispatch", "/v2/agent/dispatch", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent"}),
    "dispatch-agent-app-forged-token.json": event("POST", "/v2/agent/dispatch", "/v2/agent/dispatch", body={
        "meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent"}, extra_headers={"authorization": FORGED_TOKEN}),
    "dispatch-agent-versions-no-token.json": event("GET", "/ai/v1/agents/{agentId}/versions",
                                                   "/ai/v1/agents/dev-agent/versions", path_params={"agentId": "dev-agent"}),
    "start-transcription.json": event("POST", "/start-transcription", "/start-transcription", body={
        "roomId": "abcd-efgh-ijkl", "language": "en-US",
        "summary": {"enabled": True, "prompt": "List the decisions and who owns each action item."}}, claims=MOD),
    "start-transcription-caller-webhook.json": event("POST", "/start-transcription", "/start-transcription", body={
        "roomId": "abcd-efgh-ijkl", "webhookUrl": "https://attacker.example.com/h"}, claims=MOD),
    "start-transcription-not-moderator.json": event("POST", "/start-transcription", "/start-transcription", body={
        "roomId": "abcd-efgh-ijkl"}, claims=STAFF),
    "end-transcription.json": event("POST", "/end-transcription", "/end-transcription",
                                    body={"roomId": "abcd-efgh-ijkl"}, claims=MOD),
    "end-transcription-not-moderator.json": event("POST", "/end-transcription", "/end-transcription",
                                                  body={"roomId": "abcd-efgh-ijkl"}, claims=STAFF),
}

if __name__ == "__main__":
    for name, e in FILES.items():
        (EVENTS / name).write_text(json.dumps(e, indent=2) + "\n")
    print(f"wrote {len(FILES)} events to {EVENTS}")
