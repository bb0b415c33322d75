"""The official VideoSDK apps' call sequences, replayed exactly as `../shared/reference/client-apps.md`
describes them: paths, methods, headers, bodies, and only the fields and statuses each app reads.

Each replay takes the app's two settings (AUTH_URL and its REST base) and returns the decision the
app would make, so a test can run it against this API's own routes or against VideoSDK itself.
"""

import json
import urllib.error
import urllib.request


def http(method, url, headers=None, body=None):
    """One request as an app sends it: exactly these headers, no others added by us."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_token(auth_url):
    """Every app: plain GET, no credentials, reads `token` only."""
    status, body = http("GET", f"{auth_url}/get-token")
    assert status == 200, body
    return json.loads(body)["token"]


def react(auth_url, api_base_url):
    """React, Next.js (and the ILS/HLS React apps): `src/api.js`, `API_BASE_URL` a constant."""
    token = get_token(auth_url)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    status, body = http("POST", f"{api_base_url}/v2/rooms", headers)
    room_id = json.loads(body)["roomId"]
    status, body = http("GET", f"{api_base_url}/v2/rooms/validate/{room_id}", headers)
    if status == 400:
        return room_id, "invalid room"
    return room_id, "valid room" if json.loads(body).get("roomId") == room_id else "invalid room"


def react_native(auth_url, api_base_url):
    """React Native: as React, then the live session's start time for the speaker."""
    room_id, decision = react(auth_url, api_base_url)
    token = get_token(auth_url)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    status, body = http("GET", f"{api_base_url}/v2/sessions?roomId={room_id}", headers)
    data = json.loads(body).get("data") or []
    return room_id, decision, (data[0]["start"] if data else None)


def flutter_create(auth_url, videosdk_api_endpoint):
    """Flutter RTC/HLS: `.env` VIDEOSDK_API_ENDPOINT ends in /v2; creation sends Authorization only."""
    token = get_token(auth_url)
    status, body = http("POST", f"{videosdk_api_endpoint}/rooms", {"Authorization": token})
    assert status == 200, body
    room_id = json.loads(body)["roomId"]
    status, _ = http("GET", f"{videosdk_api_endpoint}/rooms/validate/{room_id}", {"Authorization": token})
    return room_id, "valid room" if status == 200 else "invalid room"


def flutter_view(auth_url, videosdk_api_endpoint, room_id):
    """Flutter HLS viewer: the room's session, then the active HLS stream's playback URL."""
    token = get_token(auth_url)
    headers = {"Authorization": token}
    status, _ = http("GET", f"{videosdk_api_endpoint}/rooms/validate/{room_id}", headers)
    if status != 200:
        return "invalid room", None
    status, body = http("GET", f"{videosdk_api_endpoint}/sessions?roomId={room_id}", headers)
    sessions = json.loads(body).get("data") or [] if status == 200 else []
    status, body = http("GET", f"{videosdk_api_endpoint}/hls/{room_id}/active", headers)
    url = (json.loads(body).get("data") or {}).get("playbackHlsUrl") if status == 200 else None
    return ("HLS playback URL found" if url else "no HLS playback URL"), (sessions[0]["start"] if sessions else None)


def android(auth_url, api_base, room_id=None):
    """Android (Java/Kotlin, RTC and HLS): `NetworkUtils` writes the full URLs out; Authorization only."""
    token = get_token(auth_url)
    headers = {"Authorization": token}
    if room_id is None:
        status, body = http("POST", f"{api_base}/v2/rooms", headers)
        room_id = json.loads(body)["roomId"]
    status, _ = http("GET", f"{api_base}/v2/rooms/validate/{room_id}", headers)
    if not 200 <= status < 300:
        return room_id, "invalid room", None, None
    status, body = http("GET", f"{api_base}/v2/sessions/?roomId={room_id}", headers)
    data = json.loads(body).get("data") or [] if status == 200 else []
    started = data[0]["start"] if data else None
    status, body = http("GET", f"{api_base}/v2/hls/{room_id}/active", headers)
    url = (json.loads(body).get("data") or {}).get("playbackHlsUrl") if status == 200 else None
    return room_id, "valid room", started, ("HLS playback URL found" if url else "no HLS playback URL")


def replay_every_app(auth_url, rest_root, start_hls):
    """All app families against one deployment. `rest_root` is what replaces
    https://api.videosdk.live; `start_hls(room_id)` is the host starting HLS in a room."""
    room, decision = react(auth_url, rest_root)
    assert decision == "valid room", room

    room, decision, started = react_native(auth_url, rest_root)
    assert (decision, started) == ("valid room", None), room  # nobody has joined yet

    room, decision = flutter_create(auth_url, rest_root + "/v2")
    assert decision == "valid room", room
    assert flutter_view(auth_url, rest_root + "/v2", room)[0] == "no HLS playback URL"
    start_hls(room)
    decision, started = flutter_view(auth_url, rest_root + "/v2", room)
    assert decision == "HLS playback URL found"
    assert started and started.endswith("Z"), started  # an ISO time the app shows

    _, decision, started, hls = android(auth_url, rest_root, room)
    assert (decision, hls) == ("valid room", "HLS playback URL found")
    assert started and started.endswith("Z"), started
    _, decision, started, hls = android(auth_url, rest_root)
    assert (decision, started, hls) == ("valid room", None, "no HLS playback URL")

    assert flutter_view(auth_url, rest_root + "/v2", "zzzz-zzzz-zzzz")[0] == "invalid room"
    status, _ = http("GET", f"{rest_root}/v2/rooms/validate/zzzz-zzzz-zzzz",
                     {"Authorization": get_token(auth_url), "Content-Type": "application/json"})
    assert status in (400, 404)  # VideoSDK answers 400, this API 404: both mean "invalid" to the apps


# The AI agent starter apps (2026), each pointed here by its two edits: the token from
# {AUTH_URL}/get-token, and this API's root instead of https://api.videosdk.live. Each returns the
# app's decision: "agent dispatched", or the message the app would show.

def agent_react(auth_url, api_root, agent_id):
    """agent-starter-app-react `src/Api.js`: create, validate (roomId === id), the latest version,
    then dispatch with it in both versionId and versionTag; reads data.success."""
    token = get_token(auth_url)
    headers = {"authorization": token, "Content-Type": "application/json"}
    status, body = http("POST", f"{api_root}/v2/rooms", headers)
    if not 200 <= status < 300:
        return None, "create failed"
    room_id = json.loads(body)["roomId"]
    headers = {"Authorization": token, "Content-Type": "application/json"}
    status, body = http("GET", f"{api_root}/v2/rooms/validate/{room_id}", headers)
    if not 200 <= status < 300 or json.loads(body).get("roomId") != room_id:
        return room_id, "invalid room"
    status, body = http("GET", f"{api_root}/ai/v1/agents/{agent_id}/versions", headers)
    if not 200 <= status < 300:
        return room_id, json.loads(body).get("message")
    version_id = ((json.loads(body).get("versions") or [{}])[0]).get("versionId")
    dispatch = {"meetingId": room_id, "agentId": agent_id,
                **({"versionId": version_id, "versionTag": version_id} if version_id else {})}
    status, body = http("POST", f"{api_root}/v2/agent/dispatch", headers, json.dumps(dispatch).encode())
    if not 200 <= status < 300:
        return room_id, json.loads(body).get("message")
    return room_id, "agent dispatched" if (json.loads(body).get("data") or {}).get("success") else "dispatch failed"


def agent_react_native(auth_url, api_root, agent_id, version_tag=None):
    """agent-starter-app-react-native `src/Api.jsx`: create, validate, dispatch with VERSION_TAG
    when set; any 2xx is success."""
    token = get_token(auth_url)
    headers = {"authorization": token, "Content-Type": "application/json"}
    status, body = http("POST", f"{api_root}/v2/rooms", headers)
    room_id = json.loads(body)["roomId"]
    headers = {"Authorization": token, "Content-Type": "application/json"}
    status, body = http("GET", f"{api_root}/v2/rooms/validate/{room_id}", headers)
    if not 200 <= status < 300 or json.loads(body).get("roomId") != room_id:
        return room_id, "invalid room"
    dispatch = {"meetingId": room_id, "agentId": agent_id, **({"versionTag": version_tag} if version_tag else {})}
    status, body = http("POST", f"{api_root}/v2/agent/dispatch", headers, json.dumps(dispatch).encode())
    return room_id, "agent dispatched" if 200 <= status < 300 else json.loads(body).get("message")


def agent_flutter(auth_url, api_root, agent_id, version_id=None):
    """agent-starter-app-flutter: `lib/utils/api.dart` (AUTH_URL set, AUTH_TOKEN empty;
    VIDEOSDK_API_ENDPOINT = {root}/v2) and its meeting screen's dispatch: the first version
    unless VERSION_ID is set, then dispatch; 200 or 201, else `message`."""
    token = get_token(auth_url)
    endpoint = f"{api_root}/v2"
    status, body = http("POST", f"{endpoint}/rooms", {"Authorization": token})
    if status != 200:
        return None, json.loads(body).get("error")
    room_id = json.loads(body)["roomId"]
    status, body = http("GET", f"{endpoint}/rooms/validate/{room_id}", {"Authorization": token})
    if status != 200:
        return room_id, "invalid room"
    headers = {"Authorization": token, "Content-Type": "application/json"}
    if not version_id:
        status, body = http("GET", f"{api_root}/ai/v1/agents/{agent_id}/versions", headers)
        if status != 200:
            return room_id, "Failed to fetch agent versions"
        versions = json.loads(body).get("versions")
        if not versions:
            return room_id, "No versions found for agent"
        version_id = versions[0].get("versionId")
    dispatch = {"meetingId": room_id, "agentId": agent_id, "versionId": version_id}
    status, body = http("POST", f"{api_root}/v2/agent/dispatch", headers, json.dumps(dispatch).encode())
    if status in (200, 201):
        return room_id, "agent dispatched"
    return room_id, json.loads(body).get("message") or "Agent dispatch failed"


def agent_ios(api_root, agent_id, version_tag=None, variables=None):
    """agent-starter-app-ios `APIService.swift`: every URL from one base (get-token included);
    create and validate are POSTs with the token in the body too; validate reads `meetingId`;
    dispatch needs 200 or 201 and data.success == true, else shows `message`."""
    status, body = http("GET", f"{api_root}/get-token", {"Content-Type": "application/json"})
    token = json.loads(body)["token"]
    headers = {"Authorization": token, "Content-Type": "application/json"}
    status, body = http("POST", f"{api_root}/v2/rooms", headers, json.dumps({"token": token}).encode())
    room_id = json.loads(body).get("roomId")
    if not room_id:
        return None, "Error while create meeting"
    status, body = http("POST", f"{api_root}/v2/rooms/validate/{room_id}", headers,
                        json.dumps({"token": token}).encode())
    if json.loads(body).get("meetingId") != room_id:
        return room_id, "invalid room"
    status, body = http("GET", f"{api_root}/ai/v1/agents/{agent_id}/versions", headers)
    if status != 200:
        return room_id, json.loads(body).get("message") or "Failed to fetch agent versions"
    dispatch = {"meetingId": room_id, "agentId": agent_id}
    if version_tag:
        dispatch["versionTag"] = version_tag
    if variables:
        dispatch["metadata"] = {"variables": variables}
    status, body = http("POST", f"{api_root}/v2/agent/dispatch", headers, json.dumps(dispatch).encode())
    answer = json.loads(body)
    if status in (200, 201) and (answer.get("data") or {}).get("success") is True:
        return room_id, "agent dispatched"
    return room_id, answer.get("message") or "Agent dispatch failed. Please try again."
