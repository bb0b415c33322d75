"""The functions' CloudWatch metrics, read from their real output: release binaries under the
Lambda runtime emulator play a scripted sequence (tokens, an upstream 503, a missing secret, a
forged webhook, a caller over its limit), and the EMF records in their logs must be valid EMF,
count exactly what was played, and hold no token, secret, stream key or room id."""

import http.server
import json
import threading

import jwt

from conftest import API_KEY, ROOT, SECRET, emf_records, free_port

NAMESPACE = "VideoSdkTokenServer"


def check_emf(record):
    """The EMF specification's required structure, and every metric's value at the top level."""
    meta = record["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_700_000_000_000
    directives = meta["CloudWatchMetrics"]
    assert directives, record
    for d in directives:
        assert d["Namespace"] == NAMESPACE
        assert d["Dimensions"] and all(isinstance(s, list) for s in d["Dimensions"])
        for dimension_set in d["Dimensions"]:
            for key in dimension_set:
                assert isinstance(record[key], str) and key in ("Function", "Code", "Kind"), (key, record)
        assert d["Metrics"]
        for m in d["Metrics"]:
            assert m["Unit"] in ("Count", "Milliseconds"), m
            value = record[m["Name"]]
            values = value if isinstance(value, list) else [value]
            assert values and all(isinstance(v, (int, float)) and v >= 0 for v in values), (m, record)


def total(records, metric, **dims):
    n = 0
    for _, r in records:
        if metric in r and all(r.get(k) == v for k, v in dims.items()):
            value = r[metric]
            n += len(value) if isinstance(value, list) and metric == "UpstreamLatency" else value
    return n


class Refusing(http.server.BaseHTTPRequestHandler):
    """VideoSDK down: 503 with one of its odd bodies, for every call."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"statusCode":503,"error":"Service Unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def test_emf_records_count_what_was_played_and_leak_nothing(moto, standin, start_function):
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/e2e", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    base = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/e2e", "CALLER_AUTH": "none",
            "ANONYMOUS_CUSTOM_ROOM_IDS": "allow"}
    refusing = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Refusing)
    threading.Thread(target=refusing.serve_forever, daemon=True).start()
    try:
        tokens = start_function("get-token", {**base, "VIDEOSDK_API_ENDPOINT": standin})
        rooms = start_function("create-meeting", {**base, "VIDEOSDK_API_ENDPOINT": standin})
        down = start_function("create-meeting", {**base, "VIDEOSDK_API_ENDPOINT":
                                                 f"http://127.0.0.1:{refusing.server_address[1]}"})
        no_secret = start_function("get-token", {**base, "VIDEOSDK_SECRET_ID": "videosdk/missing",
                                                 "VIDEOSDK_API_ENDPOINT": standin})
        hooks = start_function("videosdk-webhook", {**base, "VIDEOSDK_API_ENDPOINT": standin})

        minted = []
        for _ in range(3):
            status, _, body = tokens.request("GET")
            assert status == 200
            minted.append(body["token"])
        assert tokens.request("GET", query="ttl=ten")[0] == 400
        status, _, room = rooms.request("POST", body={"customRoomId": "metrics-room"})
        assert status == 200
        status, _, body = down.request("POST", body={})
        assert (status, body["error"]["code"]) == (502, "upstream_error"), body
        status, _, body = no_secret.request("GET")
        assert (status, body["error"]["code"]) == (503, "secret_unavailable"), body
        forged = json.loads((ROOT / "events" / "videosdk-webhook-forged.json").read_text())
        assert hooks.invoke_event(forged)["statusCode"] == 401
        assert hooks.invoke_event(forged)["statusCode"] == 401
    finally:
        refusing.shutdown()

    logs = {name: emf_records(fn.log()) for name, fn in
            [("tokens", tokens), ("rooms", rooms), ("down", down), ("no_secret", no_secret), ("hooks", hooks)]}
    for records in logs.values():
        for _, record in records:
            check_emf(record)

    # One record per invocation, each naming its function.
    assert len(logs["tokens"]) == 4 and {r["Function"] for _, r in logs["tokens"]} == {"get-token"}
    assert total(logs["tokens"], "TokensIssued", Kind="participant") == 3
    assert total(logs["tokens"], "ClientErrors", Code="invalid_field") == 1
    assert total(logs["rooms"], "TokensIssued", Kind="management") == 1
    assert total(logs["rooms"], "UpstreamCalls") == 1 and total(logs["rooms"], "UpstreamErrors") == 0
    assert total(logs["down"], "UpstreamCalls") == 1
    assert total(logs["down"], "UpstreamErrors", Code="upstream_error") == 1
    assert total(logs["down"], "ServerErrors", Code="upstream_error") == 1
    assert total(logs["no_secret"], "SecretUnavailable") == 1
    assert total(logs["no_secret"], "TokensIssued") == 0
    assert total(logs["hooks"], "WebhooksReceived") == 2
    assert total(logs["hooks"], "WebhooksRejected", Code="invalid_signature") == 2
    assert total(logs["hooks"], "EventBusErrors") == 0
    # The latency of the one call VideoSDK answered is a plausible number of milliseconds.
    latency = [r["UpstreamLatency"] for _, r in logs["rooms"] if "UpstreamLatency" in r]
    assert len(latency) == 1 and 0 < latency[0] < 5_000

    # Nothing that identifies a room, a caller or a credential.
    secrets = [SECRET, API_KEY, room["roomId"], "metrics-room", *minted, *(t.split(".")[2] for t in minted)]
    for records in logs.values():
        for line, _ in records:
            for s in secrets:
                assert s not in line, (s, line)
    # The tokens were real (so their absence above means something).
    assert jwt.decode(minted[0], SECRET, algorithms=["HS256"])["apikey"] == API_KEY


def test_metrics_off_writes_no_record(moto, standin, start_function):
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/e2e", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    fn = start_function("get-token", {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/e2e",
                                      "CALLER_AUTH": "none", "METRICS_NAMESPACE": "off"})
    assert fn.request("GET")[0] == 200
    assert emf_records(fn.log()) == []
