"""`make dev` with nothing configured serves all five endpoints on the embedded defaults:
anonymous callers, fake development credentials, and the local VideoSDK stand-in."""

import http.client
import json
import re
import urllib.error
import urllib.request

import jwt


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_all_five_endpoints_answer_with_nothing_configured(dev_server):
    base = dev_server.base
    status, body = call("GET", base + "/get-token/")
    assert status == 200
    claims = jwt.decode(body["token"], "dev-secret-not-for-videosdk", algorithms=["HS256"])
    assert claims["apikey"] == "dev-api-key-not-for-videosdk"
    assert claims["roles"] == ["rtc"]

    status, room = call("POST", base + "/create-meeting/", {"customRoomId": "dev-demo"})
    assert status == 200, room
    room_id = room["roomId"]
    status, valid = call("GET", f"{base}/validate-meeting/{room_id}")
    assert (status, valid["valid"]) == (200, True)
    status, unknown = call("POST", f"{base}/validate-meeting/zzzz-zzzz-zzzz", {})
    assert (status, unknown["valid"]) == (404, False)

    outputs = [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "dev-key"}]
    status, started = call("POST", base + "/create-livestream/", {"roomId": room_id, "outputs": outputs})
    assert (status, started["status"]) == (200, "started")
    status, ended = call("POST", base + "/end-livestream/", {"roomId": room_id})
    assert (status, ended["status"]) == (200, "ended")

    log = dev_server.log_path.read_text(errors="replace")
    assert "WARNING: using development credentials" in log
    assert "VideoSDK itself will reject them" in log
    # dev.sh built get-token and the stand-in in one cargo run with the features the watch uses:
    # the watch compiled each other function's own crate and no dependency again.
    served = log.split("Serving the API", 1)[1]
    compiled = set(re.findall(r"Compiling (\S+) v", served))
    assert compiled <= {"create-meeting", "validate-meeting", "create-livestream", "end-livestream",
                        "videosdk-webhook", "start-recording", "end-recording", "list-recordings", "end-meeting",
                        "agent-token", "dispatch-agent", "start-transcription", "end-transcription"}, compiled


def test_the_stand_in_runs_from_where_cargo_built_it(dev_server):
    """With CARGO_TARGET_DIR set (the fixture sets it), dev.sh starts the stand-in cargo built
    there, not a stale or missing one under ./target."""
    from pathlib import Path

    standins = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"videosdk-standin") and str(dev_server.standin_port).encode() in argv:
            standins.append(argv[0].decode())
    assert standins == [f"{dev_server.target_dir}/debug/videosdk-standin"]


def launch_chromium(playwright):
    """Debian's headless Chromium, quiet (no background network, no updates)."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"])


def test_browser_demo_from_another_origin(dev_server, processes, tmp_path):
    """The demo page, served from a different origin than the API, in headless Chromium: the
    browser's CORS rules apply (preflighted JSON POSTs) and the page shows what the API said."""
    from playwright.sync_api import sync_playwright

    from conftest import ROOT, free_port, wait_for_port

    page_port = free_port()
    server = processes.start("demo-page", ["python3", "-m", "http.server", page_port, "--bind", "127.0.0.1",
                                           "--directory", ROOT / "examples" / "web"])
    wait_for_port(page_port, server, "demo page server")
    page_url = f"http://127.0.0.1:{page_port}/index.html?api={dev_server.base}"

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            requests = []
            page.on("request", lambda r: requests.append((r.method, r.url)))
            page.goto(page_url)
            assert page.input_value("#api") == dev_server.base

            page.click("#getToken")
            page.wait_for_function("document.getElementById('expiry').textContent.includes('Z (in 900 s)')")
            claims = json.loads(page.text_content("#claims"))
            assert claims["apikey"] == "dev-api-key-not-for-videosdk"
            assert claims["permissions"] == ["allow_join"] and claims["version"] == 2

            page.click("#createMeeting")
            page.wait_for_function("/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/.test(document.getElementById('roomId').textContent)")
            page.click("#validateMeeting")
            page.wait_for_function("document.getElementById('valid').textContent === 'true'")
            assert page.text_content("#answer").startswith("200 ")
            page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        finally:
            browser.close()
    # The JSON POSTs were cross-origin: the page origin differs from the API's.
    assert any(m == "POST" and "/create-meeting" in u and u.startswith("http://localhost:") for m, u in requests)


def test_react_app_sequence_in_the_browser_from_another_origin(dev_server, processes):
    """examples/web/react-app.html makes the React app's calls (api.js) in headless Chromium,
    from another origin, against the API's own paths: CORS preflights included."""
    from playwright.sync_api import sync_playwright

    from conftest import ROOT, free_port, wait_for_port

    root = dev_server.base.removesuffix("/lambda-url")
    page_port = free_port()
    server = processes.start("react-page", ["python3", "-m", "http.server", page_port, "--bind", "127.0.0.1",
                                            "--directory", ROOT / "examples" / "web"])
    wait_for_port(page_port, server, "react page server")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            requests = []
            page.on("request", lambda r: requests.append((r.method, r.url, r.headers)))
            page.goto(f"http://127.0.0.1:{page_port}/react-app.html?api={root}")
            page.click("#run")
            page.wait_for_function("document.getElementById('decision').textContent !== '–'", timeout=120_000)
            assert page.text_content("#decision") == "valid room", page.text_content("#log")
        finally:
            browser.close()
    calls = [(m, u.removeprefix(root).split("/v2/rooms/validate/")[0]) for m, u, _ in requests if u.startswith(root)]
    assert calls == [("GET", "/get-token"), ("POST", "/v2/rooms"), ("GET", "")], calls
    token_request = next(h for m, u, h in requests if u == root + "/get-token")
    assert "authorization" not in token_request


def test_cargo_lambda_invoke_by_name_with_every_stored_event(dev_server):
    """`cargo lambda invoke <name> --data-file events/<file>` against `make dev`, as the README
    shows (CALLER_AUTH=none there, so signed-in events are anonymous callers)."""
    import subprocess

    from conftest import ROOT, cargo_lambda
    from test_functions_runtime import EVENT_STATUS, function_of

    port = dev_server.base.split(":")[2].split("/")[0]
    status, _ = call("POST", dev_server.base + "/create-meeting/", {"customRoomId": "abcd-efgh-ijkl"})
    assert status == 200
    from conftest import standin_join
    standin_join(f"http://127.0.0.1:{dev_server.standin_port}", "abcd-efgh-ijkl")
    for event_file, expected in EVENT_STATUS.items():
        out = subprocess.run(
            cargo_lambda() + ["invoke", function_of(event_file), "--invoke-address", "127.0.0.1",
                              "--invoke-port", port, "--output-format", "json",
                              "--data-file", str(ROOT / "events" / event_file)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stderr
        answer = json.loads(out.stdout)
        assert answer["statusCode"] == expected["opted-in"], (event_file, answer)


def test_official_apps_work_against_make_dev_with_rtc_tokens(dev_server):
    """AUTH_URL and the REST base both `http://localhost:<port>`; tokens stay `rtc`."""
    from client_apps import get_token, replay_every_app

    root = dev_server.base.removesuffix("/lambda-url")
    token = get_token(root)
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["rtc"]

    def start_hls(room_id):
        status, body = call("POST", root + "/create-livestream", {"roomId": room_id, "type": "hls"})
        assert status == 200, body

    replay_every_app(root, root, start_hls)


def test_the_readme_walk_through_create_join_record_stop_and_a_verified_webhook(dev_server):
    """README "Recordings and webhooks, locally": create a room, join it in the stand-in, start and
    stop a recording, end the meeting; the stand-in signs each webhook, videosdk-webhook verifies
    it (with the key fetched from the stand-in) and logs it."""
    import time

    from conftest import standin_join, standin_webhooks

    root = dev_server.base.removesuffix("/lambda-url")
    standin = f"http://127.0.0.1:{dev_server.standin_port}"
    status, room = call("POST", root + "/create-meeting", {})
    assert status == 200, room
    room_id = room["roomId"]
    standin_join(standin, room_id)
    status, started = call("POST", root + "/start-recording", {"roomId": room_id})
    assert (status, started) == (200, {"roomId": room_id, "status": "starting"}), started
    status, stopped = call("POST", root + "/end-recording", {"roomId": room_id})
    assert (status, stopped["status"]) == (200, "stopping")
    status, listed = call("GET", f"{root}/recordings?roomId={room_id}")
    assert status == 200 and listed["total"] == 1 and listed["recordings"][0]["fileUrl"].endswith(".mp4"), listed
    status, ended = call("POST", root + "/end-meeting", {"roomId": room_id})
    assert (status, ended["ended"]) == (200, True)

    wanted = {"session-started", "recording-started", "recording-stopped", "session-ended"}
    deadline = time.monotonic() + 300
    while True:
        log = dev_server.log_path.read_text(errors="replace")
        verified = {t for t in wanted if re.search(
            rf'verified webhook.*webhook_type="{t}".*room_id="{room_id}"', log)}
        if verified == wanted or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert verified == wanted, log[-4000:]
    sent = [w for w in standin_webhooks(standin) if w["webhookType"] in wanted]
    assert sent and all(w["status"] == "200" for w in sent), sent
    # Delivered to the keyed URL, as rooms subscribe it.
    assert all(w["url"].endswith("/videosdk-webhook/dev-webhook-key-not-secret-0123456789") for w in sent), sent
    # The agent token, locally without IAM (ANONYMOUS_AGENT_TOKENS=allow in make dev).
    status, agent = call("POST", root + "/agent-token", {"roomId": room_id})
    assert status == 200
    claims = jwt.decode(agent["token"], "dev-secret-not-for-videosdk", algorithms=["HS256"])
    assert "roles" not in claims and claims["roomId"] == room_id


def test_make_dev_on_real_credentials_answers_only_this_machine_s_pages(processes, standin):
    """With real credentials, a page on any other origin the developer opens cannot mint tokens or
    create rooms through `make dev`: refused before anything is signed or sent upstream."""
    import time

    from conftest import API_KEY, ROOT, SECRET, free_port, standin_requests, wait_for_port

    port = free_port()
    env = {k: "" for k in ("VIDEOSDK_SECRET_ID", "CALLER_AUTH", "ALLOWED_ORIGINS")}
    env.update({"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "VIDEOSDK_API_ENDPOINT": standin,
                "DEV_PORT": str(port), "DEV_STANDIN_PORT": str(free_port())})
    proc = processes.start("make-dev-real", [ROOT / "tools" / "dev.sh"], env=env)
    wait_for_port(port, proc, "make dev", timeout=600)

    def post(path, origin=None):
        headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    deadline = time.monotonic() + 600
    while True:
        try:
            status, body = post("/get-token", origin="http://localhost:3000")
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline and proc.poll() is None, proc.log_path.read_text(errors="replace")
            time.sleep(1)
    assert status == 200 and jwt.decode(body["token"], SECRET, algorithms=["HS256"])["apikey"] == API_KEY
    assert post("/get-token")[0] == 200, "apps and curl send no Origin"
    assert post("/create-meeting", origin="http://127.0.0.1:5173")[0] == 200
    sent = len(standin_requests(standin))
    for origin in ["https://evil.example", "http://localhost.evil.example", "null"]:
        for path in ["/get-token", "/create-meeting"]:
            status, body = post(path, origin=origin)
            assert (status, body["error"]["code"]) == (403, "forbidden"), (origin, path, body)
            assert "token" not in body and "roomId" not in body
    assert len(standin_requests(standin)) == sent, "nothing reached VideoSDK"
    assert "only web pages from http://localhost:*" in proc.log_path.read_text(errors="replace")
    # DNS rebinding: a page on attacker.example, its name rebound to 127.0.0.1, fetches
    # /get-token same-origin (no Origin header) with its own name as Host.
    for host in [f"attacker.example:{port}", "attacker.example", f"localhost.attacker.example:{port}"]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/get-token", headers={"Host": host})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        assert (resp.status, body["error"]["code"]) == (403, "forbidden"), (host, body)
        assert "token" not in body
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", "/get-token", headers={"Host": f"localhost:{port}"})
    assert conn.getresponse().status == 200
    assert "ALLOWED_HOSTS" in proc.log_path.read_text(errors="replace")


def test_hostile_events_through_make_dev_get_a_json_400(dev_server, tmp_path):
    """The events that made lambda_http panic, sent through `make dev`'s invoke API (an HTTP client
    cannot put them on the wire: the watch's HTTP server refuses such a request line itself)."""
    import subprocess
    from urllib.parse import urlparse

    from conftest import ROOT, cargo_lambda

    port = urlparse(dev_server.base).port
    base = json.loads((ROOT / "events" / "get-token-query.json").read_text())
    base.pop("queryStringParameters", None)
    for raw in ['roomId="abc def<x>', "a=b c", "a=b\x7f"]:
        event = {**base, "rawQueryString": raw}
        path = tmp_path / "hostile.json"
        path.write_text(json.dumps(event))
        out = subprocess.run(cargo_lambda() + ["invoke", "--invoke-address", "127.0.0.1", "-P", str(port),
                                               "--output-format", "json", "--data-file", str(path), "get-token"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        answer = json.loads(out.stdout)
        assert answer["statusCode"] == 400, (raw, answer)
        assert json.loads(answer["body"])["error"]["code"] in ("invalid_field", "unknown_field"), answer
    assert call("POST", dev_server.base + "/get-token/", {})[0] == 200
    assert "panicked" not in dev_server.log_path.read_text(errors="replace")


def test_each_agent_starter_app_dispatches_the_operator_s_agent_through_make_dev(dev_server):
    """The four agent starter apps' exact sequences (room, validate, versions, dispatch) against
    `make dev` with a token from `/get-token` (AGENTS=dev-agent, preset), what each app reads, and
    what VideoSDK (the stand-in) received: only the listed agent, capped, never a phone call."""
    import client_apps
    from conftest import standin_requests

    root = dev_server.base.removesuffix("/lambda-url")
    standin = f"http://127.0.0.1:{dev_server.standin_port}"
    before = len(standin_requests(standin))
    rooms = {}
    for name, replay in [
        ("react", lambda: client_apps.agent_react(root, root, "dev-agent")),
        ("react-native", lambda: client_apps.agent_react_native(root, root, "dev-agent")),
        ("react-native, VERSION_TAG", lambda: client_apps.agent_react_native(root, root, "dev-agent", "dev-agent-v1")),
        ("flutter", lambda: client_apps.agent_flutter(root, root, "dev-agent")),
        ("flutter, VERSION_ID", lambda: client_apps.agent_flutter(root, root, "dev-agent", "dev-agent-v1")),
        ("ios", lambda: client_apps.agent_ios(root, "dev-agent", variables={"name": "Ada"})),
    ]:
        room_id, decision = replay()
        assert decision == "agent dispatched", (name, decision)
        rooms[name] = room_id

    dispatched = [r for r in standin_requests(standin)[before:] if r["path"] == "/v2/agent/dispatch"]
    assert len(dispatched) == len(rooms)
    for request, (name, room_id) in zip(dispatched, rooms.items()):
        body = request["body"]
        assert request["authorization"] == "valid crawler token", name
        assert body["agentId"] == "dev-agent" and body["meetingId"] == body["roomId"] == room_id, (name, body)
        assert body["roomOptions"] == {"sessionTimeoutSeconds": 1800}, (name, body)
        assert set(body) <= {"agentId", "meetingId", "roomId", "versionId", "versionTag", "metadata", "roomOptions"}
    assert dispatched[0]["body"]["versionId"] == "dev-agent-v2", "React: the newest version, listed first"
    assert dispatched[2]["body"]["versionTag"] == "dev-agent-v1"
    assert dispatched[4]["body"]["versionId"] == "dev-agent-v1"
    assert dispatched[5]["body"]["metadata"] == {"variables": {"name": "Ada"}}

    # The apps' error paths: an agent the operator does not list; the message each app shows.
    before = len(standin_requests(standin))
    _, shown = client_apps.agent_react(root, root, "someone-elses-agent")
    assert "AGENTS" in shown, shown
    _, shown = client_apps.agent_react_native(root, root, "someone-elses-agent")
    assert "AGENTS" in shown, shown
    assert client_apps.agent_flutter(root, root, "someone-elses-agent")[1] == "Failed to fetch agent versions"
    _, shown = client_apps.agent_flutter(root, root, "someone-elses-agent", "v1")
    assert "AGENTS" in shown, shown
    _, shown = client_apps.agent_ios(root, "someone-elses-agent")
    assert "AGENTS" in shown, shown
    assert not [r for r in standin_requests(standin)[before:] if r["path"].startswith(("/v2/agent", "/ai/"))]


def test_the_readme_agent_walk_through_ends_with_a_verified_agent_session_event(dev_server):
    """README "AI agents, locally": token, room, versions, dispatch; the stand-in signs
    `agent-session-started` to the room's webhook (the operator's, as make dev sets it), and
    videosdk-webhook verifies and logs it; ending the meeting sends `agent-session-stopped`."""
    import time

    root = dev_server.base.removesuffix("/lambda-url")

    def app_call(method, path, token, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(root + path, data=data, method=method, headers={"Authorization": token})
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    token = call("GET", root + "/get-token")[1]["token"]
    status, room = app_call("POST", "/v2/rooms", token)
    assert status == 200, room
    room_id = room["roomId"]
    status, listed = app_call("GET", "/ai/v1/agents/dev-agent/versions", token)
    assert status == 200 and [v["versionId"] for v in listed["versions"]] == ["dev-agent-v2", "dev-agent-v1"]
    assert all(set(v) == {"versionId", "versionTag", "createdAt"} for v in listed["versions"]), listed
    status, sent = app_call("POST", "/v2/agent/dispatch", token,
                            {"meetingId": room_id, "agentId": "dev-agent", "versionId": "dev-agent-v2"})
    assert status == 200 and sent["data"]["success"] is True and sent["data"]["jobId"], sent
    status, refused = app_call("POST", "/v2/agent/dispatch", token,
                               {"meetingId": room_id, "agentId": "dev-agent", "sipOptions": {"to": "+15550100"}})
    assert (status, refused["error"]["code"]) == (400, "unknown_field") and refused["message"], refused
    status, ended = call("POST", root + "/end-meeting", {"roomId": room_id})
    assert (status, ended["ended"]) == (200, True), ended

    wanted = {"agent-session-started", "agent-session-stopped"}
    deadline = time.monotonic() + 300
    while True:
        log = dev_server.log_path.read_text(errors="replace")
        verified = {t for t in wanted if re.search(rf'verified webhook.*webhook_type="{t}".*room_id="{room_id}"', log)}
        if verified == wanted or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert verified == wanted, log[-4000:]
    assert re.search(rf'dispatched an agent.*room_id="{room_id}".*agent_id="dev-agent"', log), log[-4000:]
