"""`make dev`'s front door (tools/dev_front.py): what a web page can reach on any port `make dev`
opens is the API's routes only, with the Host and Origin checks applied to the real request; the
Lambda emulator's Invoke and runtime APIs take no event a page writes (contract: "Local
development (`make dev`)"). All traffic goes to loopback addresses."""

import http.client
import re
import json
import subprocess
import time
import urllib.error
import urllib.request

import jwt

from conftest import (API_KEY, ROOT, SECRET, Processes, cargo_lambda, free_bad_port, free_port, listening_sockets,
                      process_group, standin_requests, wait_for_port)
from test_dev_server import launch_chromium

# An agent-token event whose IAM identity anyone can write into an Invoke API body.
FORGED_IAM = json.loads((ROOT / "events" / "agent-token.json").read_text())


def forged(event, host="localhost"):
    event = json.loads(json.dumps(event))
    event["headers"] = {**event.get("headers", {}), "host": host}
    return event


def post_raw(address, port, path, body, headers):
    """One POST to address:port (a loopback address), with exactly these headers."""
    conn = http.client.HTTPConnection(address, port, timeout=300)
    conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, text


def answer_of(status, text):
    """The function's answer in an Invoke API reply (the Lambda response object), else the front's."""
    try:
        value = json.loads(text)
    except ValueError:
        return status, text
    if isinstance(value, dict) and "statusCode" in value:
        return value["statusCode"], value.get("body", "")
    return status, text


def test_a_page_reaches_no_function_through_the_emulator_s_apis(dev_server, processes):
    """Headless Chromium on another origin posts an agent-token event (a forged IAM identity) to
    the Invoke API on make dev's port and on the emulator's own port: the browser refuses the
    emulator's port (a Fetch "bad port"), the front refuses the page; nothing is minted, while
    the same make dev still serves the API's routes to the page."""
    from playwright.sync_api import sync_playwright

    front = int(dev_server.base.split(":")[2].split("/")[0])
    page_port = free_port()
    server = processes.start("blank-page", ["python3", "-m", "http.server", page_port, "--bind", "127.0.0.1",
                                            "--directory", ROOT / "examples" / "web"])
    wait_for_port(page_port, server, "page server")
    minted_before = dev_server.log_path.read_text(errors="replace").count("issued an agent token")
    event = json.dumps(forged(FORGED_IAM))
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            failures = []
            page.on("requestfailed", lambda r: failures.append((r.url, r.failure)))
            page.goto(f"http://127.0.0.1:{page_port}/index.html")
            outcomes = page.evaluate("""async ([front, emulator, event]) => {
                const attempt = async (url, init) => {
                    try { const r = await fetch(url, init); return r.type + ":" + r.status; }
                    catch (e) { return "failed"; }
                };
                const invoke = "/2015-03-31/functions/agent-token/invocations";
                return {
                    emulator: await attempt(`http://127.0.0.1:${emulator}${invoke}`, {method: "POST", mode: "no-cors", body: event}),
                    front: await attempt(`http://localhost:${front}${invoke}`, {method: "POST", mode: "no-cors", body: event}),
                    runtime: await attempt(`http://localhost:${front}/2018-06-01/runtime/invocation/next`, {mode: "no-cors"}),
                    api: await attempt(`http://localhost:${front}/get-token`, {}),
                };
            }""", [front, dev_server.emulator_port, event])
        finally:
            browser.close()
    assert outcomes["emulator"] == "failed", outcomes
    assert any(str(dev_server.emulator_port) in url and "ERR_UNSAFE_PORT" in (why or "") for url, why in failures), failures
    assert outcomes["front"] == "opaque:0" and outcomes["runtime"] == "opaque:0", outcomes
    assert outcomes["api"] == "cors:200", "the API's routes still answer the page"
    time.sleep(1)
    log = dev_server.log_path.read_text(errors="replace")
    assert log.count("issued an agent token") == minted_before, "a page's event minted an agent token"


def test_make_dev_on_real_credentials_mints_nothing_from_the_invoke_api_and_opens_no_spending(processes, standin):
    """With real-looking credentials: on every address and port make dev listens on, the Invoke API
    with a forged IAM identity and `Host: localhost`, as a page sends it (with an Origin) or as
    anything reaching the emulator's own port sends it, mints nothing; the README's `cargo lambda
    invoke` still works; no anonymous opt-in that spends money is preset."""
    port, emulator_port = free_port(), free_bad_port()
    env = {k: "" for k in ("VIDEOSDK_SECRET_ID", "CALLER_AUTH", "ALLOWED_ORIGINS", "AGENTS")}
    # As the README says for the sample events (they name the deployed API's host) in this mode.
    sample_host = json.loads((ROOT / "events" / "get-token-post.json").read_text())["headers"]["host"]
    env.update({"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "VIDEOSDK_API_ENDPOINT": standin,
                "ALLOWED_HOSTS": f"localhost,127.0.0.1,[::1],{sample_host}",
                "DEV_PORT": str(port), "DEV_EMULATOR_PORT": str(emulator_port)})
    proc = processes.start("make-dev-real-front", [ROOT / "tools" / "dev.sh"], env=env)
    wait_for_port(port, proc, "make dev", timeout=600)
    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/get-token", timeout=600) as resp:
                token = json.loads(resp.read())["token"]
                break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline and proc.poll() is None, proc.log_path.read_text(errors="replace")
            time.sleep(1)
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["apikey"] == API_KEY

    listening = listening_sockets(process_group(proc.pid))
    assert {p for _, p in listening} == {port, emulator_port}, listening
    assert all(address in ("127.0.0.1", "::1") for address, _ in listening), "loopback only"

    def minted():
        log = proc.log_path.read_text(errors="replace")
        return log.count("issued an agent token") + log.count("issued a participant token")

    minted_before = minted()
    invoke = "/2015-03-31/functions/{}/invocations"
    page_headers = {"Host": "localhost", "Origin": "https://evil.example", "Content-Type": "text/plain"}
    tried = 0
    for address, listen_port in sorted(listening):
        for function, event in [("agent-token", forged(FORGED_IAM)), ("get-token", forged(FORGED_IAM))]:
            attempts = [page_headers, {**page_headers, "Host": f"localhost:{listen_port}"}]
            if listen_port == emulator_port:
                # Anything that reaches the emulator's own port, browser or not.
                attempts.append({"Host": "localhost", "Content-Type": "application/json"})
            for headers in attempts:
                status, text = answer_of(*post_raw(address, listen_port, invoke.format(function), event, headers))
                tried += 1
                assert status == 403 and "forbidden" in text, (address, listen_port, function, headers, text)
                assert "token\\\"" not in text and '"token"' not in text, text
    assert tried >= 12
    time.sleep(1)
    assert minted() == minted_before, proc.log_path.read_text(errors="replace")[-3000:]

    # The emulator's runtime and extensions APIs (under /.rt/ and /YYYY-MM-DD/) are not forwarded:
    # refused at once, never a poll that would take the developer's next event.
    # A page's requests carry an Origin; the runtime API paths are refused with or without one.
    cases = [(method, path, origin) for method in ["GET", "POST"] for origin in [None, "https://evil.example"]
             for path in ["/.rt/get-token/2018-06-01/runtime/invocation/next", "/.rt/2020-01-01/extension/register",
                          "/2018-06-01/runtime/invocation/next", "/get-token/../.rt/x",
                          "/.rt/get-token/2018-06-01/runtime/invocation/x/response"]]
    cases += [("POST", "//2015-03-31/functions/agent-token/invocations", "https://evil.example")]
    for method, path, origin in cases:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        headers = {"Host": "localhost", **({"Origin": origin} if origin else {})}
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        assert resp.status in (403, 404) and "token" not in text, (method, path, resp.status, text)
        assert "access-control-allow-origin" not in {k.lower() for k, _ in resp.getheaders()}, (path, text)

    # The README's commands, through make dev's own port: the default address (::1) when this
    # machine has it, as printed, else 127.0.0.1.
    address = [] if any(a == "::1" for a, _ in listening) else ["--invoke-address", "127.0.0.1"]
    out = subprocess.run(cargo_lambda() + ["invoke", "get-token", "--invoke-port", str(port), *address,
                                           "--data-file", str(ROOT / "events" / "get-token-post.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["statusCode"] == 200, answer
    assert jwt.decode(json.loads(answer["body"])["token"], SECRET, algorithms=["HS256"])["apikey"] == API_KEY

    # Nothing that spends is open to anonymous callers on real credentials.
    sent = len(standin_requests(standin))
    room = {"roomId": "abcd-efgh-ijkl"}
    spending = [
        ("/dispatch-agent", {"meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent"}, {}),
        ("/v2/agent/dispatch", {"meetingId": "abcd-efgh-ijkl", "agentId": "dev-agent"}, {"Authorization": token}),
        ("/start-recording", room, {}),
        ("/start-transcription", room, {}),
        ("/create-livestream", {**room, "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "k"}]}, {}),
        ("/end-meeting", room, {}),
        ("/agent-token", room, {}),
    ]
    for path, body, headers in spending:
        status, text = post_raw("127.0.0.1", port, path, body,
                                {"Host": f"localhost:{port}", "Content-Type": "application/json", **headers})
        assert status == 403, (path, status, text)
        assert "forbidden" in text or "agent_not_allowed" in text, (path, text)
    assert len(standin_requests(standin)) == sent, "nothing reached VideoSDK"
    assert "nothing that spends" in proc.log_path.read_text(errors="replace")


def test_ctrl_c_stops_everything_make_dev_started(tmp_path):
    """SIGINT to make dev (Ctrl-C) ends every process it started, and frees its ports."""
    import os
    import signal

    procs = Processes(tmp_path)
    port, emulator_port = free_port(), free_bad_port()
    env = {k: "" for k in ("VIDEOSDK_SECRET_ID", "VIDEOSDK_API_KEY", "VIDEOSDK_SECRET", "CALLER_AUTH")}
    env.update({"DEV_PORT": str(port), "DEV_EMULATOR_PORT": str(emulator_port), "DEV_STANDIN_PORT": str(free_port())})
    try:
        proc = procs.start("make-dev-stop", [ROOT / "tools" / "dev.sh"], env=env)
        wait_for_port(port, proc, "make dev", timeout=600)
        wait_for_port(emulator_port, proc, "the emulator", timeout=600)
        group = process_group(proc.pid)
        assert len(group) >= 3, group
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while [p for p in group if os.path.exists(f"/proc/{p}") and
               "Z" not in open(f"/proc/{p}/stat").read().split()[2]] and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [p for p in group if os.path.exists(f"/proc/{p}")
                 and "Z" not in open(f"/proc/{p}/stat").read().split()[2]]
        assert not alive, alive
    finally:
        procs.stop_all()


def lan_address():
    """This machine's LAN address (the interface a default route would use; nothing is sent), else
    a second loopback address, which exercises the same switch."""
    import socket
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
            if not address.startswith("127."):
                return address
    except OSError:
        pass
    return "127.0.0.2"


def test_lan_mode_serves_devices_by_their_names_for_this_machine(processes, standin):
    """`make dev LAN=1` on real credentials: listens on the LAN address too (the emulator still on
    loopback only), serves the LAN address and the Android emulator's 10.0.2.2 as Host names and
    LAN pages as origins, warns, and still refuses other names. Every request here goes to
    127.0.0.1, with the Host header a device would send."""
    lan, port, emulator_port = lan_address(), free_port(), free_bad_port()
    env = {k: "" for k in ("VIDEOSDK_SECRET_ID", "CALLER_AUTH", "ALLOWED_ORIGINS", "ALLOWED_HOSTS")}
    env.update({"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "VIDEOSDK_API_ENDPOINT": standin,
                "DEV_PORT": str(port), "DEV_EMULATOR_PORT": str(emulator_port), "LAN": "1", "LAN_ADDRESS": lan})
    proc = processes.start("make-dev-lan", [ROOT / "tools" / "dev.sh"], env=env)
    wait_for_port(port, proc, "make dev", timeout=600)

    def get_token(host, origin=None):
        headers = {"Host": host, **({"Origin": origin} if origin else {})}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/get-token", headers=headers)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        return resp.status, body

    deadline = time.monotonic() + 600
    while get_token(f"localhost:{port}")[0] != 200:
        assert time.monotonic() < deadline and proc.poll() is None, proc.log_path.read_text(errors="replace")
        time.sleep(1)
    listening = listening_sockets(process_group(proc.pid))
    assert (lan, port) in listening and ("127.0.0.1", port) in listening, listening
    assert {a for a, p in listening if p == emulator_port} == {"127.0.0.1"}, "the emulator stays on loopback"
    for host in [f"{lan}:{port}", f"10.0.2.2:{port}", "10.0.2.2"]:
        status, body = get_token(host)
        assert status == 200 and jwt.decode(body["token"], SECRET, algorithms=["HS256"]), (host, body)
    assert get_token(f"{lan}:{port}", origin=f"http://{lan}:8081")[0] == 200, "a page served from the LAN address"
    for host in [f"attacker.example:{port}", f"10.0.2.3:{port}"]:
        status, body = get_token(host)
        assert (status, body["error"]["code"]) == (403, "forbidden"), (host, body)
    assert get_token(f"{lan}:{port}", origin="https://evil.example")[0] == 403
    log = proc.log_path.read_text(errors="replace")
    assert f"anyone on your network can reach http://{lan}:{port} and mint tokens signed with your secret" in log, log
    assert f"http://10.0.2.2:{port}" in log


def test_make_dev_is_quiet_by_default(dev_server):
    """The functions' own info lines, no dependency's (cargo-lambda's included), no EMF line per
    request (METRICS_NAMESPACE=off unless set)."""
    for _ in range(3):
        with urllib.request.urlopen(dev_server.base + "/get-token/", timeout=300) as resp:
            assert resp.status == 200
    time.sleep(0.5)
    log = dev_server.log_path.read_text(errors="replace")
    assert "issued a participant token" in log, "the functions' own info lines"
    assert '{"_aws"' not in log, "no EMF records"
    # Every INFO line is one the product writes: its message is in this repository's Rust code.
    sources = "".join(p.read_text() for d in ("shared/src", "functions") for p in (ROOT / d).rglob("*.rs"))
    infos = [line.split(" INFO ", 1)[1] for line in log.splitlines() if " INFO " in line]
    messages = [re.split(r" [A-Za-z_]+=", info, maxsplit=1)[0].split(": ")[-1].strip() for info in infos]
    foreign = [m for m in messages if f'"{m}"' not in sources]
    assert infos and not foreign, foreign[:5]
    assert "starting Runtime server" not in log


def test_only_the_product_s_functions_are_listed_or_invoked(dev_server):
    """The workspace's other binaries (the stand-in, the bench probes) are not functions of make dev."""
    port = int(dev_server.base.split(":")[2].split("/")[0])
    for path in ["/2015-03-31/functions/videosdk-standin/invocations", "/2015-03-31/functions/bench-floor/invocations",
                 "/lambda-url/ddb-roundtrip/"]:
        status, text = post_raw("127.0.0.1", port, path, {}, {"Host": f"localhost:{port}"})
        assert status == 404, (path, text)
        listed = json.loads(text)["error"]["message"].split("make dev serves", 1)[1]
        assert "get-token" in listed and "dispatch-agent" in listed, listed
        assert not any(other in listed for other in ["standin", "bench", "roundtrip", "emf-", "served", "init-steps"])
