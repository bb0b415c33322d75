"""Per-caller rate limits with the packaged binaries under the Lambda runtime emulator, counted in
moto's DynamoDB through the real AWS SDK (contract: "Per-caller rate limits")."""

import json
import socket
from pathlib import Path
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import jwt
import pytest
from test_openapi import check as check_spec

from conftest import (API_KEY, OPTED_IN, REGION, ROOT, SECRET, VENV_BIN, dynamodb, emf_records, free_port, limits_table,
                      standin_join, standin_requests, wait_for_port)

TABLE = "videosdk-rate-limits"


def items(endpoint, name=TABLE):
    return {i["pk"]["S"]: i for i in dynamodb(endpoint).scan(TableName=name)["Items"]}


def anonymous_event(source_ip, method="GET", path="/get-token", body=None):
    base = json.loads((ROOT / "events" / "get-token-anonymous.json").read_text())
    base["requestContext"]["http"].update({"sourceIp": source_ip, "method": method, "path": path})
    base["rawPath"] = path
    base["routeKey"] = base["requestContext"]["routeKey"] = f"{method} {path}"
    if body is not None:
        base["body"] = json.dumps(body)
        base["headers"]["content-type"] = "application/json"
    return base


def wait_for_a_fresh_window(seconds, at_least):
    """Sleeps into the next fixed window when fewer than `at_least` seconds are left in this one."""
    left = seconds - time.time() % seconds
    if left < at_least:
        time.sleep(left + 0.05)


@pytest.fixture
def limited(moto, start_function):
    """get-token with the credentials in its environment and its limits in moto's DynamoDB."""
    endpoint, _ = moto
    limits_table(endpoint)

    def start(rate_limits, name="get-token", **extra):
        return start_function(name, {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY,
                                     "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none", "RATE_LIMIT_TABLE": TABLE,
                                     "RATE_LIMITS": rate_limits, **extra})

    return endpoint, start


def test_the_call_over_the_limit_is_429_while_another_ip_passes(limited):
    endpoint, start = limited
    fn = start("token=3/600")
    wait_for_a_fresh_window(600, 30)
    answers = [fn.invoke_event(anonymous_event("198.51.100.1")) for _ in range(4)]
    assert [a["statusCode"] for a in answers] == [200, 200, 200, 429], answers
    over = answers[3]
    error = json.loads(over["body"])["error"]
    assert error["code"] == "rate_limited" and "token" not in over["body"].replace("tokens", ""), over
    retry_after = int(over["headers"]["retry-after"])
    assert 1 <= retry_after <= 600
    assert fn.invoke_event(anonymous_event("198.51.100.2"))["statusCode"] == 200, "another caller has its own count"
    table = items(endpoint)
    [key] = [k for k in table if "198.51.100.1" in k]
    assert key.startswith("token#ip:198.51.100.1#")
    assert table[key]["count"]["N"] == "3", "the refused call is not counted"
    assert int(table[key]["expiresAt"]["N"]) > time.time(), "TTL set for DynamoDB to clear the window"
    assert "198.51.100.1" not in json.dumps(over)
    # Counted in the function's metrics: one refusal, no caller's address.
    records = emf_records(fn.log())
    assert sum(r.get("RateLimited", 0) for _, r in records) == 1, records
    assert not any("198.51.100" in line for line, _ in records)


def test_the_window_resets(limited):
    _, start = limited
    fn = start("token=2/3")
    wait_for_a_fresh_window(3, 2)
    event = anonymous_event("198.51.100.3")
    assert [fn.invoke_event(event)["statusCode"] for _ in range(3)] == [200, 200, 429]
    time.sleep(3 - time.time() % 3 + 0.1)
    assert fn.invoke_event(event)["statusCode"] == 200


@pytest.fixture
def serial_moto(processes):
    """moto with DynamoDB's one-write-at-a-time per item (moto_serial.py says why)."""
    port = free_port()
    proc = processes.start("moto-serial", [VENV_BIN / "python", Path(__file__).with_name("moto_serial.py"),
                                           "127.0.0.1", str(port)])
    wait_for_port(port, proc, "moto (serial)")
    endpoint = f"http://127.0.0.1:{port}"
    limits_table(endpoint)
    return endpoint


def test_concurrent_calls_never_pass_more_than_the_limit(serial_moto, start_function):
    """Four sandboxes (four processes) take 40 calls from one caller at once: exactly 10 pass."""
    endpoint = serial_moto
    fns = [start_function("get-token", {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY,
                                        "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none", "RATE_LIMIT_TABLE": TABLE,
                                        "RATE_LIMITS": "token=10/3600"}) for _ in range(4)]
    wait_for_a_fresh_window(3600, 60)
    event = anonymous_event("198.51.100.4")
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: fns[i % 4].invoke_event(event)["statusCode"], range(40)))
    unchecked = sum(fn.log().count("rate limit not checked") for fn in fns)
    assert unchecked == 0, [fn.log() for fn in fns]
    assert sorted(statuses) == [200] * 10 + [429] * 30, statuses
    [item] = [v for k, v in items(endpoint).items() if "198.51.100.4" in k]
    assert item["count"]["N"] == "10"


def hanging_listener():
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in iter(int, 1)], daemon=True).start()
    return server, held


def test_the_table_down_or_hanging_costs_at_most_the_bounded_wait(limited):
    endpoint, start = limited
    server, _ = hanging_listener()
    hanging = start("token=1/60", AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{server.getsockname()[1]}")
    down = start("token=1/60", AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9")
    missing = start("token=1/60", RATE_LIMIT_TABLE="no-such-table")
    for fn in (hanging, down, missing):
        fn.invoke_event(anonymous_event("198.51.100.5"))  # the first call also connects
        took = []
        for _ in range(3):
            started = time.monotonic()
            answer = fn.invoke_event(anonymous_event("198.51.100.5"))
            took.append(time.monotonic() - started)
            assert answer["statusCode"] == 200, (fn.log(), answer)
        # The check gives up after 300 ms; the rest is the emulator and this test's own HTTP.
        assert max(took) < 1.0, took
        log = fn.log()
        assert "rate limit not checked; the request goes on" in log and "failures=4" in log, log
        unchecked = [r.get("RateLimitUnchecked", 0) for _, r in emf_records(log)]
        assert sum(unchecked) == 4, unchecked
    server.close()


def test_each_limited_function_refuses_before_anything_is_sent(moto, standin, start_function):
    """One call per function passes, the next is 429, and VideoSDK saw only the first."""
    endpoint, _ = moto
    limits_table(endpoint)
    env = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET,
           "CALLER_AUTH": "none", "VIDEOSDK_API_ENDPOINT": standin, "RATE_LIMIT_TABLE": TABLE,
           # token counts get-token and agent-token together: one each.
           "RATE_LIMITS": "token=2/3600,room=1/3600,stream=1/3600,recording=1/3600,agent=1/3600,transcription=1/3600",
           "AGENTS": "dev-agent", **OPTED_IN}
    wait_for_a_fresh_window(3600, 60)
    fns = {name: start_function(name, env) for name in
           ["get-token", "agent-token", "create-meeting", "create-livestream", "start-recording", "validate-meeting",
            "dispatch-agent", "start-transcription"]}
    status, _, room = fns["create-meeting"].request("POST", body={})
    assert status == 200
    room_id = room["roomId"]
    standin_join(standin, room_id)
    calls = {
        "get-token": ("GET", None),
        "agent-token": ("POST", {"roomId": room_id}),
        "create-livestream": ("POST", {"roomId": room_id, "outputs": [
            {"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "sk-never-logged"}]}),
        "start-recording": ("POST", {"roomId": room_id}),
        "dispatch-agent": ("POST", {"meetingId": room_id, "agentId": "dev-agent"}),
        "start-transcription": ("POST", {"roomId": room_id}),
    }
    for name, (method, body) in calls.items():
        status, _, answer = fns[name].request(method, body=body)
        assert status == 200, (name, answer)
    sent = len(standin_requests(standin))
    for name, (method, body) in [*calls.items(), ("create-meeting", ("POST", {}))]:
        status, headers, answer = fns[name].request(method, body=body)
        assert (status, answer["error"]["code"]) == (429, "rate_limited"), (name, answer)
        headers = {k.lower(): v for k, v in headers.items()}
        assert int(headers["retry-after"]) >= 1
        assert answer["error"]["details"]["retryAfter"] == int(headers["retry-after"])
        # As openapi.yaml documents it, for each route.
        check_spec(name, method, status, headers, answer)
    assert len(standin_requests(standin)) == sent, "nothing sent upstream over the limit"
    # The apps' own route counts as a room too: same caller, same count.
    now = int(time.time())
    token = jwt.encode({"apikey": API_KEY, "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
                        "iat": now, "exp": now + 600, "jti": "rate-limit-test"}, SECRET, algorithm="HS256")
    status, headers, answer = fns["create-meeting"].request(
        "POST", path="/v2/rooms", body={}, headers={"Authorization": token, "Content-Type": "application/json"})
    assert (status, answer["error"]["code"]) == (429, "rate_limited"), answer
    check_spec("create-meeting", "POST", status, {k.lower(): v for k, v in headers.items()}, answer, route="/v2/rooms")
    # The starter apps' dispatch counts as an agent dispatch: the same caller is over its limit.
    status, headers, answer = fns["dispatch-agent"].request(
        "POST", path="/v2/agent/dispatch", body={"meetingId": room_id, "agentId": "dev-agent"},
        headers={"Authorization": token, "Content-Type": "application/json"})
    assert (status, answer["error"]["code"]) == (429, "rate_limited"), answer
    assert answer["message"], "the apps show the top-level message"
    check_spec("dispatch-agent", "POST", status, {k.lower(): v for k, v in headers.items()}, answer,
               route="/v2/agent/dispatch")
    # Not limited: validate-meeting builds no DynamoDB client at all.
    for _ in range(3):
        status, _, _ = fns["validate-meeting"].request("GET", path=f"/validate-meeting/{room_id}")
        assert status == 200
    assert "rate limits" not in fns["validate-meeting"].log()
    assert "rate limits" in fns["get-token"].log()
    assert "sk-never-logged" not in fns["create-livestream"].log()


def test_no_table_no_client(start_function):
    fn = start_function("get-token", {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none",
                                      "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"})
    for _ in range(40):
        assert fn.invoke_event(anonymous_event("198.51.100.6"))["statusCode"] == 200
    assert "rate limit" not in fn.log()


def test_an_iam_role_s_session_names_share_one_allowance(limited):
    """The role session name is the caller's choice: new names give no new allowance."""
    endpoint, start = limited
    wait_for_a_fresh_window(3600, 60)
    fn = start("token=2/3600", name="agent-token")
    base = json.loads((ROOT / "events" / "agent-token.json").read_text())

    def as_session(session):
        event = json.loads(json.dumps(base))
        iam = event["requestContext"]["authorizer"]["iam"]
        iam["userArn"] = f"arn:aws:sts::123456789012:assumed-role/videosdk-agent/{session}"
        iam["callerId"] = f"AROAEXAMPLE:{session}"
        return fn.invoke_event(event)["statusCode"]

    assert [as_session(s) for s in ["worker-1", "worker-2", "worker-3", "i-0fresh"]] == [200, 200, 429, 429]
    keys = [k for k in items(endpoint) if k.startswith("token#iam:")]
    assert keys and all("assumed-role/videosdk-agent#" in k for k in keys), keys
    assert not any("worker" in k for k in keys), "the session name is not part of the key"


def standin_room(standin, start_function, endpoint):
    """A room in the stand-in (created through create-meeting, without limits), for dispatches."""
    fn = start_function("create-meeting", {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY,
                                           "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none",
                                           "VIDEOSDK_API_ENDPOINT": standin})
    status, _, room = fn.request("POST", body={})
    assert status == 200, room
    return room["roomId"]


def budget_item(endpoint, action, window):
    start = int(time.time()) // window * window
    item = items(endpoint).get(f"budget#{action}#{start}")
    return int(item["count"]["N"]) if item else 0


def test_a_spent_budget_is_429_budget_exhausted_for_every_caller_in_both_envelopes(moto, standin, start_function):
    """BUDGETS agent=4/86400 across all callers, no caller more than a quarter (1): four callers
    dispatch, a fifth gets 429 budget_exhausted with Retry-After = the rest of the UTC day, on
    /dispatch-agent and on the apps' /v2/agent/dispatch; VideoSDK saw four dispatches."""
    endpoint, _ = moto
    limits_table(endpoint)
    fn = start_function("dispatch-agent", {
        "AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none",
        "VIDEOSDK_API_ENDPOINT": standin, "RATE_LIMIT_TABLE": TABLE, "RATE_LIMITS": "agent=100/600",
        "BUDGETS": "agent=4/86400", "AGENTS": "dev-agent", "ANONYMOUS_AGENT_DISPATCH": "allow"})
    wait_for_a_fresh_window(86400, 60)
    room = {"meetingId": standin_room(standin, start_function, endpoint), "agentId": "dev-agent"}
    dispatch = lambda ip: fn.invoke_event(anonymous_event(ip, "POST", "/dispatch-agent", room))  # noqa: E731
    before = len([r for r in standin_requests(standin) if r["path"] == "/v2/agent/dispatch"])
    answers = [dispatch(f"198.51.100.{20 + i}") for i in range(4)]
    assert [a["statusCode"] for a in answers] == [200] * 4, answers
    assert budget_item(endpoint, "agent", 86400) == 4

    # A caller past its share (a quarter, rounded up: 1) is rate limited; the budget is unchanged.
    again = dispatch("198.51.100.20")
    assert (again["statusCode"], json.loads(again["body"])["error"]["code"]) == (429, "rate_limited"), again
    assert budget_item(endpoint, "agent", 86400) == 4

    fifth = dispatch("198.51.100.99")
    error = json.loads(fifth["body"])["error"]
    assert (fifth["statusCode"], error["code"]) == (429, "budget_exhausted"), fifth
    left = 86400 - int(time.time()) % 86400
    assert abs(int(fifth["headers"]["retry-after"]) - left) <= 5, (fifth["headers"], left)
    assert error["details"] == {"action": "agent", "retryAfter": int(fifth["headers"]["retry-after"])}
    check_spec("dispatch-agent", "POST", 429, fifth["headers"], json.loads(fifth["body"]))

    # The apps' route: the same budget, VideoSDK's envelope (a top-level message).
    now = int(time.time())
    token = jwt.encode({"apikey": API_KEY, "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
                        "iat": now, "exp": now + 600, "jti": "budget-test"}, SECRET, algorithm="HS256")
    event = anonymous_event("198.51.100.98", "POST", "/v2/agent/dispatch", room)
    event["headers"]["authorization"] = token
    app = fn.invoke_event(event)
    body = json.loads(app["body"])
    assert (app["statusCode"], body["error"]["code"]) == (429, "budget_exhausted"), app
    assert body["message"] == body["error"]["message"] and "budget" in body["message"]
    assert int(app["headers"]["retry-after"]) >= 1
    check_spec("dispatch-agent", "POST", 429, app["headers"], body, route="/v2/agent/dispatch")

    sent = [r for r in standin_requests(standin) if r["path"] == "/v2/agent/dispatch"]
    assert len(sent) - before == 4, "nothing dispatched past the budget"
    table = items(endpoint)
    counted = {k: int(v["count"]["N"]) for k, v in table.items() if "198.51.100.99" in k}
    assert counted and all(n == 0 for n in counted.values()), \
        f"a request the budget refused is not counted against its caller's limit or share: {counted}"
    assert budget_item(endpoint, "agent", 86400) == 4
    # BudgetUsed by Action, as EMF: 25, 50, 75, 100 %.
    used = [r["BudgetUsed"] for _, r in emf_records(fn.log()) if "BudgetUsed" in r]
    assert used[:4] == [25, 50, 75, 100] and all(r == 100 for r in used[4:]), used
    assert all(r["Action"] == "agent" for _, r in emf_records(fn.log()) if "BudgetUsed" in r)


def test_a_refusal_by_videosdk_gives_the_budget_back(moto, standin, start_function):
    """A recording VideoSDK refuses (no live session: 4xx, nothing started) costs no budget."""
    endpoint, _ = moto
    limits_table(endpoint)
    env = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET,
           "CALLER_AUTH": "none", "VIDEOSDK_API_ENDPOINT": standin, "RATE_LIMIT_TABLE": TABLE,
           "BUDGETS": "recording=2/86400", **OPTED_IN}
    wait_for_a_fresh_window(86400, 60)
    fns = {name: start_function(name, env) for name in ["create-meeting", "start-recording"]}
    status, _, room = fns["create-meeting"].request("POST", body={})
    assert status == 200
    refused = fns["start-recording"].invoke_event(
        anonymous_event("198.51.100.40", "POST", "/start-recording", {"roomId": room["roomId"]}))
    assert refused["statusCode"] == 422, refused
    assert budget_item(endpoint, "recording", 86400) == 0, "given back"
    standin_join(standin, room["roomId"])
    started = fns["start-recording"].invoke_event(
        anonymous_event("198.51.100.40", "POST", "/start-recording", {"roomId": room["roomId"]}))
    assert started["statusCode"] == 200, started
    assert budget_item(endpoint, "recording", 86400) == 1


def test_signed_in_apps_count_by_their_sub_not_their_address(moto, standin, start_function):
    """Under CALLER_AUTH=jwt, /dispatch-agent and the apps' /v2/agent/dispatch share one
    allowance per user (sub:<participantId>), whatever address the calls come from."""
    endpoint, _ = moto
    limits_table(endpoint)
    fn = start_function("dispatch-agent", {
        "AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "jwt",
        "VIDEOSDK_API_ENDPOINT": standin, "RATE_LIMIT_TABLE": TABLE, "RATE_LIMITS": "agent=2/3600",
        "AGENTS": "dev-agent"})
    wait_for_a_fresh_window(3600, 60)
    room = {"meetingId": standin_room(standin, start_function, endpoint), "agentId": "dev-agent"}
    now = int(time.time())
    token = jwt.encode({"apikey": API_KEY, "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
                        "participantId": "alice", "iat": now, "exp": now + 600, "jti": "sub-test"}, SECRET,
                       algorithm="HS256")

    def app_dispatch(ip):
        event = anonymous_event(ip, "POST", "/v2/agent/dispatch", room)
        event["headers"]["authorization"] = token
        return fn.invoke_event(event)["statusCode"]

    own = anonymous_event("198.51.100.60", "POST", "/dispatch-agent", room)
    own["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "alice"}, "scopes": None}}
    assert fn.invoke_event(own)["statusCode"] == 200
    assert [app_dispatch("198.51.100.61"), app_dispatch("198.51.100.62")] == [200, 429]
    keys = [k for k in items(endpoint) if k.startswith("agent#")]
    assert keys and all(k.startswith("agent#sub:alice#") for k in keys), keys
