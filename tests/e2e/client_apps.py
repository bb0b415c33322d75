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
