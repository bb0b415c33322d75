"""`make bench`: the functions against their references, measured in one run on this machine and
printed as ratios against the targets (BENCHMARKS.md). Exits non-zero when a target is missed.

References, all measured here and now:
- the floor: a hello-world `lambda_http` binary built with the same release profile (bench/floor);
- the Secrets Manager round trip alone: a fresh client's first GetSecretValue (bench/probes);
- VideoSDK's official Node example server (Express + jsonwebtoken, bench/node), spawn -> first
  token, and `jsonwebtoken.sign` per token.

Cold starts are spawn -> first answer through cargo-lambda's runtime emulator, the variants
interleaved round by round so that drift hits all of them alike. Last, `make dev` runs in a fresh
clone of HEAD (uncommitted changes are not in it) to its first token. `--smoke` runs a few
iterations of everything but that, and checks nothing but that it runs (the test command does this).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import (  # noqa: E402
    API_KEY, SECRET, Processes, bootstrap, free_port, limits_table, moto_with_secret, runtime_emulator,
    status_kib, wait_for_port, zipped_mib,
)

LAMBDA_BUILD = ROOT / "target" / "lambda-build" / "lambda"
FLOOR = LAMBDA_BUILD / "bench-floor" / "bootstrap"
SM_ROUNDTRIP = LAMBDA_BUILD / "sm-roundtrip" / "bootstrap"
INIT_STEPS = LAMBDA_BUILD / "init-steps" / "bootstrap"
DDB_ROUNDTRIP = LAMBDA_BUILD / "ddb-roundtrip" / "bootstrap"
# The VideoSDK stand-in, built with the functions' release profile: its own time is inside
# create-meeting's cold start, and a debug build's would be counted against the function.
STANDIN = LAMBDA_BUILD / "videosdk-standin" / "bootstrap"
SERVED = LAMBDA_BUILD / "served" / "bootstrap"
EMF_OWN = LAMBDA_BUILD / "emf-own" / "bootstrap"
EMF_CRATE = LAMBDA_BUILD / "emf-crate" / "bootstrap"
LIMITS_TABLE = "videosdk-bench-limits"
NODE_DIR = ROOT / "bench" / "node"
CRITERION = ROOT / "target" / "criterion"
SECRET_ID = "videosdk/bench"

FULL = {"cold_runs": 40, "warm_requests": 500, "rss_invocations": 10_000, "node_rounds": 30}
SMOKE = {"cold_runs": 3, "warm_requests": 20, "rss_invocations": 200, "node_rounds": 3}


def get(url, body=None, timeout=10, headers=None):
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET",
                                 headers=headers or {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = resp.read()
        return resp.status, payload


class Emulated:
    """One function (or the floor) behind its own runtime emulator."""

    def __init__(self, procs, label, binary, env, body=None, headers=None, expect=200):
        self.procs, self.label, self.binary, self.body, self.expect = procs, label, binary, body, expect
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.port, runtime_env = runtime_emulator(procs, label.replace(" ", "-").replace("(", "").replace(")", ""))
        self.env = {**runtime_env, **env}
        self.url = f"http://127.0.0.1:{self.port}/lambda-url/_/"
        self.proc, self.cold, self.spawned = None, [], 0

    def cold_start(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        self.spawned += 1
        started = time.perf_counter()
        self.proc = self.procs.start(f"{self.label}-{self.spawned}", [self.binary], env=self.env)
        try:
            status, payload = get(self.url, self.body, headers=self.headers)
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        self.cold.append((time.perf_counter() - started) * 1000)
        assert status == self.expect and (status != 200 or b'"error"' not in payload), (self.label, status, payload[:200])

    def warm_times(self, count):
        """`count` warm requests, each one's milliseconds."""
        times = []
        for _ in range(count):
            started = time.perf_counter()
            status, _ = get(self.url, self.body, headers=self.headers)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200
        return times

    def warm(self, count):
        return p50_p99(self.warm_times(count))

    def invoke(self, count):
        """`count` more invocations on one connection; returns peak RSS (KiB) after them."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        method = "POST" if self.body else "GET"
        for _ in range(count):
            conn.request(method, "/lambda-url/_/", body=self.body, headers=self.headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
        conn.close()
        return status_kib(self.proc.pid, "VmHWM")


def p50_p99(times):
    times = sorted(times)
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def node_cold(procs, runs, secret_env):
    """VideoSDK's example server: spawn `node server.js` -> first token (ms), per run."""
    node = [os.environ.get("NODE", "node"), str(NODE_DIR / "server.js")]
    times = []
    for i in range(runs):
        port = free_port()
        started = time.perf_counter()
        proc = procs.start(f"node-{i}", node, env={**secret_env, "PORT": str(port)})
        while True:
            try:
                status, payload = get(f"http://127.0.0.1:{port}/get-token", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the Node baseline exited; see its log")
                time.sleep(0.001)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200 and json.loads(payload)["token"].count(".") == 2
        proc.terminate()
        proc.wait()
    return statistics.median(times)


def node_sign(rounds):
    out = subprocess.run(["node", str(NODE_DIR / "sign.js"), str(rounds), "2000"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


SM_ENV = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_EC2_METADATA_DISABLED": "true"}


def sm_call_ms(endpoint, runs, sdk_warmed=False):
    """Median ms of `runs` GetSecretValue calls in one fresh process (bench/probes sm-roundtrip),
    each by a new client on a new connection; `sdk_warmed`: after one call the SDK cannot deliver,
    so that none of the SDK's once-per-process work is in the timed calls."""
    env = {**os.environ, **SM_ENV, "AWS_ENDPOINT_URL": endpoint}
    out = subprocess.run([str(SM_ROUNDTRIP), SECRET_ID, str(runs)] + (["--sdk-warmed"] if sdk_warmed else []),
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)["median_ms"]


def sm_roundtrip(endpoint, runs):
    """(median of `runs` round trips in one process, back to back; median of the first round trip
    of `runs` fresh processes, back to back: it includes the SDK's once-per-process work)."""
    return sm_call_ms(endpoint, runs), statistics.median(sm_call_ms(endpoint, 1) for _ in range(runs))


def management_token():
    """A token shaped as create-meeting's management token, signed with the bench's secret."""
    import jwt
    now = int(time.time())
    return jwt.encode({"apikey": API_KEY, "permissions": ["allow_join", "allow_mod"], "version": 2,
                       "roles": ["crawler"], "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


def standin_call_ms(port, token):
    """ms of one `POST /v2/rooms` to the stand-in on a new connection, with `token` (see
    management_token): the upstream part of create-meeting's cold start."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/v2/rooms", body=b"{}", headers={"Authorization": token, "Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    assert resp.status == 200, resp.status
    return elapsed


def standin_room(port, token):
    """A room in the stand-in, for the dispatch variant to dispatch its agent into."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/v2/rooms", body=b'{"customRoomId": "bench-agent-room"}',
                 headers={"Authorization": token, "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    return json.loads(resp.read())["roomId"]


def limits_interleaved(plain, limited, endpoint, requests):
    """Warm p50 of get-token (SM) without and with limits, and the DynamoDB round trip alone,
    interleaved one by one (plain request, limited request, one UpdateItem of the probe), as the
    cold starts are: taken minutes apart, medians differ by as much as the bound allows."""
    env = {**os.environ, **SM_ENV, "AWS_ENDPOINT_URL": endpoint}
    probe = subprocess.Popen([str(DDB_ROUNDTRIP), LIMITS_TABLE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert probe.stdout.readline().strip() == "ready"
        samples = {"plain": [], "limited": [], "ddb": []}
        for _ in range(requests):
            samples["plain"] += plain.warm_times(1)
            samples["limited"] += limited.warm_times(1)
            probe.stdin.write("\n")
            probe.stdin.flush()
            samples["ddb"].append(float(probe.stdout.readline()))
    finally:
        probe.stdin.close()
        probe.wait(timeout=30)
    return {k: statistics.median(v) for k, v in samples.items()} | {"rounds": requests}


def init_steps(runs):
    """Median microseconds of each INIT step (bench/probes init-steps), one process per run."""
    env = {**os.environ, **SM_ENV, "VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET}
    rows = [json.loads(subprocess.run([str(INIT_STEPS)], check=True, capture_output=True, text=True,
                                      env=env).stdout) for _ in range(runs)]
    return {step: statistics.median(r[step] for r in rows) for step in rows[0]}


def fresh_clone_env():
    """A new user's environment: nothing configured, not this checkout's venv or target dir."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIDEOSDK_", "CALLER_", "CARGO_TARGET_DIR", "MAKE", "MFLAGS"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT / ".venv")))
    return env


def plain_cargo_build():
    """The reference for `make dev`: a plain `cargo build` of what tools/dev.sh builds before it
    serves (get-token and the stand-in) in a fresh clone of HEAD, package caches as warm: seconds."""
    clone = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        start = time.monotonic()
        subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "get-token", "-p", "videosdk-standin"],
                       cwd=clone, env=fresh_clone_env(), check=True)
        return time.monotonic() - start
    finally:
        subprocess.run(["rm", "-rf", str(clone)], check=False)


def dev_first_token(timeout=900):
    """`make dev` in a fresh clone of this repository's HEAD, nothing configured, package caches as
    warm as this machine's: seconds from the command to its first token, and the clone's HEAD."""
    clone = Path(tempfile.mkdtemp(prefix="bench-dev-"))
    log_path = clone.with_name(clone.name + ".log")  # outside the clone: the watch reloads on changes
    proc = None
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True,
                              capture_output=True, text=True).stdout.strip()
        port = free_port()
        # The clone installs its own venv, as a new user's would.
        env = fresh_clone_env()
        env.update({"DEV_PORT": str(port), "DEV_STANDIN_PORT": str(free_port())})
        with open(log_path, "wb") as log:
            start = time.monotonic()
            proc = subprocess.Popen(["make", "dev"], cwd=clone, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            while True:
                try:
                    status, payload = get(f"http://127.0.0.1:{port}/get-token", body=b"{}", timeout=60)
                    if status == 200 and json.loads(payload)["token"].count(".") == 2:
                        return time.monotonic() - start, head
                except (OSError, http.client.HTTPException):
                    pass
                if proc.poll() is not None or time.monotonic() - start > timeout:
                    raise RuntimeError("make dev never served a token:\n" + log_path.read_text(errors="replace"))
                time.sleep(0.25)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(clone), str(log_path)], check=False)


DEV_PUBLIC_KEY = (ROOT / "dev" / "videosdk-standin" / "keys" / "dev-webhook-public-key.pem").read_text()
# A delivery signed with the stand-in's development key.
WEBHOOK = json.loads((ROOT / "events" / "videosdk-webhook.json").read_text())


def webhook_bus(endpoint):
    """An EventBridge bus in moto for the webhook variant."""
    import boto3
    boto3.client("events", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_event_bus(Name="videosdk-bench")
    return "videosdk-bench"


def served_instructions(invocations):
    """What metrics add to one served get-token invocation, counted by callgrind (bench/probes
    served): instructions per invocation with metrics on and off (the difference of a run of
    `invocations` and one of twice as many, so INIT cancels out), and the time per invocation
    of native runs, which turns instructions into time on this machine. None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    event = str(ROOT / "events" / "get-token-user.json")

    def instructions(mode, n):
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(SERVED), mode,
                              str(n), event], check=True, capture_output=True, text=True)
        return int(re.search(r"Collected : (\d+)", out.stderr).group(1))

    def native_ns(mode):
        runs = [json.loads(subprocess.run([str(SERVED), mode, str(invocations * 20), event], check=True,
                                          capture_output=True, text=True).stdout)["per_invocation_ns"] for _ in range(5)]
        return statistics.median(runs)

    per = {mode: (instructions(mode, 2 * invocations) - instructions(mode, invocations)) / invocations
           for mode in ("with", "without")}
    ns = {mode: native_ns(mode) for mode in ("with", "without")}
    added = per["with"] - per["without"]
    return {"instructions": per, "native_ns": ns, "added_instructions": added,
            "added_us": added * ns["without"] / per["without"] / 1000}


def emf_compare(runs):
    """This product's EMF (emf-own: shared::metrics) against metrics_cloudwatch_embedded
    (emf-crate), one get-token invocation's metrics: INIT, time per invocation (median of `runs`
    processes of 100,000 invocations), record size, and binary size."""
    def probe(binary):
        rows = [json.loads(subprocess.run([str(binary), "100000"], check=True, capture_output=True, text=True).stdout)
                for _ in range(runs)]
        return {"init_us": statistics.median(r["init_us"] for r in rows),
                "per_invocation_ns": statistics.median(r["per_invocation_ns"] for r in rows),
                "record_bytes": rows[0]["record_bytes"], "binary_kib": binary.stat().st_size / 1024,
                "zipped_mib": zipped_mib(binary)}
    return {"own": probe(EMF_OWN), "crate": probe(EMF_CRATE)}


def criterion_median_us(name):
    estimates = json.loads((CRITERION / name / "new" / "estimates.json").read_text())
    return estimates["median"]["point_estimate"] / 1000


def run(smoke, skip_dev=False):
    n = SMOKE if smoke else FULL
    needed = [bootstrap("get-token"), bootstrap("create-meeting"), bootstrap("videosdk-webhook"),
              bootstrap("dispatch-agent"), FLOOR, SM_ROUNDTRIP,
              INIT_STEPS, DDB_ROUNDTRIP, SERVED, EMF_OWN, EMF_CRATE, STANDIN, NODE_DIR / "node_modules" / "express"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        sys.exit("missing (run `make bench`, which builds them): " + ", ".join(missing))
    procs = Processes(Path(tempfile.mkdtemp(prefix="bench-")))
    try:
        port = free_port()
        standin = procs.start("standin", [STANDIN, "--port", port],
                              env={"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET})
        wait_for_port(port, standin, "videosdk-standin")
        api = f"http://127.0.0.1:{port}"
        env_creds = {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none",
                     "VIDEOSDK_API_ENDPOINT": api}
        endpoint = moto_with_secret(procs, SECRET_ID)
        sm = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": SECRET_ID, "CALLER_AUTH": "none",
              "VIDEOSDK_API_ENDPOINT": api}
        variants = [
            Emulated(procs, "floor", FLOOR, {}),
            Emulated(procs, "get-token", bootstrap("get-token"), env_creds),
            Emulated(procs, "get-token (SM)", bootstrap("get-token"), sm),
            # The same, with per-caller limits on: one conditional UpdateItem per request (a limit
            # no run reaches).
            Emulated(procs, "get-token (SM, limits)", bootstrap("get-token"),
                     {**sm, "RATE_LIMIT_TABLE": limits_table(endpoint, LIMITS_TABLE), "RATE_LIMITS": "token=1000000/86400"}),
            Emulated(procs, "create-meeting", bootstrap("create-meeting"), env_creds, body=b"{}"),
            Emulated(procs, "create-meeting (SM)", bootstrap("create-meeting"), sm, body=b"{}"),
            # One of the operator's agents into a room of the same stand-in (/dispatch-agent).
            Emulated(procs, "dispatch-agent", bootstrap("dispatch-agent"),
                     {**env_creds, "AGENTS": "dev-agent", "ANONYMOUS_AGENT_DISPATCH": "allow"},
                     body=json.dumps({"meetingId": standin_room(int(port), management_token()),
                                      "agentId": "dev-agent"}).encode()),
            # Key pinned, EventBridge client built at INIT; every delivery is published to moto.
            Emulated(procs, "videosdk-webhook (SM)", bootstrap("videosdk-webhook"),
                     {**sm, "EVENT_BUS_NAME": webhook_bus(endpoint), "VIDEOSDK_WEBHOOK_PUBLIC_KEY": DEV_PUBLIC_KEY},
                     body=WEBHOOK["body"].encode(), headers={"videosdk-signature": WEBHOOK["headers"]["videosdk-signature"]}),
            # The same INIT, answered without publishing: a forged delivery's 401 (INIT's cost alone).
            Emulated(procs, "videosdk-webhook (401)", bootstrap("videosdk-webhook"),
                     {**sm, "EVENT_BUS_NAME": "videosdk-bench", "VIDEOSDK_WEBHOOK_PUBLIC_KEY": DEV_PUBLIC_KEY},
                     body=WEBHOOK["body"].encode() + b" ", expect=401,
                     headers={"videosdk-signature": WEBHOOK["headers"]["videosdk-signature"]}),
        ]
        # The Secrets Manager call alone, measured inside the same rounds: moto answers a call
        # that arrives after other processes ran more slowly than one of a back-to-back series,
        # and a cold function's call is of the first kind.
        sm_first, sm_rt, standin_rt, token = [], [], [], management_token()
        for _ in range(n["cold_runs"]):
            sm_first.append(sm_call_ms(endpoint, 1))
            sm_rt.append(sm_call_ms(endpoint, 1, sdk_warmed=True))
            standin_rt.append(standin_call_ms(int(port), token))
            for v in variants:
                v.cold_start()
        fig = {v.label: {"cold_ms": statistics.median(v.cold)} for v in variants}
        fig["sm_rt_in_rounds_ms"], fig["sm_first_in_rounds_ms"] = statistics.median(sm_rt), statistics.median(sm_first)
        fig["standin_rt_in_rounds_ms"] = statistics.median(standin_rt)
        for v in variants[1:]:
            if v.expect != 200:
                continue
            fig[v.label]["warm_p50_ms"], fig[v.label]["warm_p99_ms"] = v.warm(n["warm_requests"])
            fig[v.label]["rss_mib"] = v.invoke(n["rss_invocations"]) / 1024
        fig["sm_roundtrip_ms"], fig["sm_first_call_ms"] = sm_roundtrip(endpoint, n["cold_runs"])
        by_label = {v.label: v for v in variants}
        fig["limits_interleaved_ms"] = limits_interleaved(by_label["get-token (SM)"], by_label["get-token (SM, limits)"],
                                                          endpoint, n["warm_requests"])
        fig["ddb_roundtrip_ms"] = fig["limits_interleaved_ms"]["ddb"]
        fig["init_steps_us"] = init_steps(n["cold_runs"])
        fig["node_cold_ms"] = node_cold(procs, n["cold_runs"], {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET})
    finally:
        procs.stop_all()
    fig["node_sign"] = node_sign(n["node_rounds"])
    fig["emf"] = emf_compare(n["node_rounds"])
    fig["served"] = served_instructions(20 if smoke else 200)
    fig["zipped_mib"] = {name: zipped_mib(bootstrap(name)) for name in
                         ("get-token", "create-meeting", "validate-meeting", "create-livestream", "end-livestream",
                          "videosdk-webhook", "start-recording", "end-recording", "list-recordings", "end-meeting",
                          "agent-token", "dispatch-agent", "start-transcription", "end-transcription")}
    fig["zipped_mib"]["floor"] = zipped_mib(FLOOR)
    if not smoke:
        fig["mint_us"] = criterion_median_us("mint_participant_token")
        fig["handler_us"] = criterion_median_us("get_token_handler")
        fig["served_metrics_us"] = criterion_median_us("get_token_served_with_metrics")
        fig["served_plain_us"] = criterion_median_us("get_token_served_without_metrics")
        fig["rsa_verify_us"] = criterion_median_us("rsa2048_verify")
        fig["webhook_us"] = criterion_median_us("webhook_verify_and_parse")
        # Last, alone: they build on every core. The reference first, then make dev.
        fig["dev_build_s"] = plain_cargo_build() if not skip_dev else None
        fig["dev_first_token_s"], fig["dev_head"] = dev_first_token() if not skip_dev else (None, None)
    return fig, n


def cold_breakdown(fig):
    """get-token (SM) and create-meeting cold starts as the sum of measured parts, so that a miss
    shows which part grew; what no part explains is printed as such."""
    steps = fig["init_steps_us"]
    floor, gt, gt_sm = fig["floor"]["cold_ms"], fig["get-token"]["cold_ms"], fig["get-token (SM)"]["cold_ms"]
    rt, first = fig["sm_rt_in_rounds_ms"], fig["sm_first_in_rounds_ms"]
    sm_init = (steps["tls_config"] + steps["aws_sdk_config"] + steps["secrets_manager_client"]) / 1000
    parts = [
        ("floor: exec, runtime client, first answer (hello world)", floor),
        ("get-token (env secret) over the floor: binary, config, logging, handler", gt - floor),
        ("INIT steps of the Secrets Manager path: TLS config, SDK config, client", sm_init),
        ("the SDK's once-per-process work on its first call", first - rt),
        ("Secrets Manager round trip (in the rounds)", rt),
    ]
    cm_parts = [
        ("INIT steps: TLS config, the VideoSDK client", (steps["tls_config"] + steps["videosdk_client"]) / 1000),
        ("the stand-in's POST /v2/rooms, new connection, Python client (in the rounds)", fig["standin_rt_in_rounds_ms"]),
    ]
    cm_extra = fig["create-meeting"]["cold_ms"] - gt
    lines = ["get-token (SM) cold start, part by part (medians, ms):"]
    lines += part_lines(parts, gt_sm, total=True)
    lines.append("create-meeting (env secret) over get-token (env secret), part by part (medians, ms):")
    lines += part_lines(cm_parts, cm_extra, total=False)
    return lines


def part_lines(parts, measured, total):
    """The parts, what was measured, and what no part explains; `total`: the measure is a whole
    cold start (their sum printed too), else an extra over another figure (printed signed)."""
    lines = [f"  {what:76} {ms:+6.2f}" for what, ms in parts]
    explained = sum(ms for _, ms in parts)
    if total:
        lines.append(f"  {'sum of the parts':76} {explained:6.2f}")
    shown = f"{measured:6.2f}" if total else f"{measured:+6.2f}"
    lines.append(f"  {'measured':76} {shown}  (not explained by a part: {measured - explained:+.2f})")
    return lines


def report(fig, n, smoke):
    floor, rt = fig["floor"]["cold_ms"], fig["sm_rt_in_rounds_ms"]
    gt, gt_sm = fig["get-token"]["cold_ms"], fig["get-token (SM)"]["cold_ms"]
    cm, cm_sm = fig["create-meeting"]["cold_ms"], fig["create-meeting (SM)"]["cold_ms"]
    node, sign = fig["node_cold_ms"], fig["node_sign"]
    print(f"cold start, spawn -> first answer, median of {n['cold_runs']} (runtime emulator; SM = secret read "
          "from Secrets Manager, moto_server, during INIT; otherwise from the environment):")
    print(f"  {'':24} {'cold':>9} {'warm p50':>9} {'warm p99':>9} {'peak RSS':>10}")
    for label in ("floor", "get-token", "get-token (SM)", "get-token (SM, limits)", "create-meeting",
                  "create-meeting (SM)", "dispatch-agent", "videosdk-webhook (SM)", "videosdk-webhook (401)"):
        f = fig[label]
        extra = (f"  {f['warm_p50_ms']:6.2f} ms {f['warm_p99_ms']:6.2f} ms {f['rss_mib']:6.1f} MiB"
                 if "rss_mib" in f else "")
        print(f"  {label:24} {f['cold_ms']:6.2f} ms{extra}")
    print(f"  {'Secrets Manager round trip alone':34} {rt:6.2f} ms  (in the rounds, SDK warmed; a process's "
          f"first call {fig['sm_first_in_rounds_ms']:.2f} ms; back to back: {fig['sm_roundtrip_ms']:.2f} ms, "
          f"first calls {fig['sm_first_call_ms']:.2f} ms)")
    print(f"  {'DynamoDB round trip alone (warm)':34} {fig['ddb_roundtrip_ms']:6.2f} ms")
    print(f"  {'Node example, spawn -> first token':34} {node:6.1f} ms")
    lim, plain, inter = fig["get-token (SM, limits)"], fig["get-token (SM)"], fig["limits_interleaved_ms"]
    print(f"per-caller limits, interleaved one by one ({inter['rounds']} each): warm p50 {inter['limited']:.2f} ms on, "
          f"{inter['plain']:.2f} ms off, DynamoDB round trip alone {inter['ddb']:.2f} ms")
    print(f"per-caller limits on, against off (get-token, SM): cold {lim['cold_ms'] - plain['cold_ms']:+.2f} ms, "
          f"warm p50 {lim['warm_p50_ms'] - plain['warm_p50_ms']:+.2f} ms, p99 {lim['warm_p99_ms'] - plain['warm_p99_ms']:+.2f} ms")
    print("INIT steps, median us: " + ", ".join(f"{k} {v:.0f}" for k, v in fig["init_steps_us"].items()))
    for line in cold_breakdown(fig):
        print(line)
    print(f"peak RSS after {n['rss_invocations']:,} invocations (warm figures: {n['warm_requests']} requests)")
    print("zipped bootstrap: " + ", ".join(f"{k} {v:.2f} MiB" for k, v in fig["zipped_mib"].items()))
    print(f"jsonwebtoken.sign per token (Node): {sign['median_ns'] / 1000:.1f} us as the example calls it "
          f"(string secret); {sign['key_object_median_ns'] / 1000:.1f} us with a prepared KeyObject")
    own, crate = fig["emf"]["own"], fig["emf"]["crate"]
    print(f"EMF for one get-token invocation, shared::metrics vs metrics_cloudwatch_embedded: INIT "
          f"{own['init_us']:.1f} vs {crate['init_us']:.1f} us, {own['per_invocation_ns'] / 1000:.2f} vs "
          f"{crate['per_invocation_ns'] / 1000:.2f} us per invocation (with a runtime's block_on), record "
          f"{own['record_bytes']} vs {crate['record_bytes']} bytes (the crate's has no Unit and no total without "
          f"dimensions), probe binary {own['binary_kib']:.0f} vs {crate['binary_kib']:.0f} KiB "
          f"({own['zipped_mib']:.3f} vs {crate['zipped_mib']:.3f} MiB zipped)")
    served = fig["served"]
    if served is not None:
        i, ns = served["instructions"], served["native_ns"]
        print(f"served get-token, instructions per invocation (callgrind): {i['with']:,.0f} with metrics, "
              f"{i['without']:,.0f} without: metrics add {served['added_instructions']:,.0f} "
              f"({served['added_instructions'] / i['without']:.1%}), {served['added_us']:.2f} us at this machine's "
              f"{ns['without'] / 1000:.2f} us per invocation without")
    if smoke:
        print("smoke run: figures only, no targets checked")
        return []
    mint, handler = fig["mint_us"], fig["handler_us"]
    print(f"criterion medians: mint one participant token {mint:.2f} us; whole get-token handler "
          f"(event JSON -> response) {handler:.2f} us")
    timed_cost = fig["served_metrics_us"] - fig["served_plain_us"]
    print(f"criterion medians: get-token served as the runtime loop serves it {fig['served_metrics_us']:.2f} us with "
          f"metrics, {fig['served_plain_us']:.2f} us with METRICS_NAMESPACE=off: {timed_cost:+.2f} us "
          "(counting and formatting the EMF record; its write to the log is one write(2))")
    # Two ~20 us medians taken one after the other differ by more than metrics cost on a shared
    # machine; the instruction count is exact. Timings decide only where valgrind is missing.
    if served is not None:
        metrics_cost = served["added_us"]
        metrics_shown = (f"{metrics_cost:+.2f} us ({served['added_instructions']:,.0f} instructions at "
                         f"{served['native_ns']['without'] / served['instructions']['without']:.3f} ns each; "
                         f"timed medians {timed_cost:+.2f} us)")
    else:
        metrics_cost = timed_cost
        metrics_shown = f"{timed_cost:+.2f} us ({fig['served_metrics_us']:.2f} vs {fig['served_plain_us']:.2f} us; no valgrind)"
    print(f"criterion medians: RSA-2048 verify alone {fig['rsa_verify_us']:.2f} us; whole videosdk-webhook "
          f"handler (event JSON -> verify -> read -> response, no bus) {fig['webhook_us']:.2f} us")
    wh_sm = fig["videosdk-webhook (SM)"]["cold_ms"]
    dev = fig["dev_first_token_s"]
    if dev is not None:
        print(f"make dev, fresh clone of HEAD ({fig['dev_head']}) -> first token: {dev:.1f} s; plain `cargo build "
              f"-p get-token -p videosdk-standin` in a fresh clone: {fig['dev_build_s']:.1f} s")
    checks = [
        ("get-token (SM) cold <= floor + SM round trip (in the rounds) + 1.5 ms",
         gt_sm, floor + rt + 1.5, f"{gt_sm:.2f} ms vs {floor:.2f} + {rt:.2f} + 1.5 = {floor + rt + 1.5:.2f} ms"),
        ("get-token (SM) cold >= 15x faster than Node's first token",
         15, node / gt_sm, f"{node / gt_sm:.1f}x ({node:.1f} ms / {gt_sm:.2f} ms)"),
        ("create-meeting (SM) cold <= get-token (SM) cold + 1 ms",
         cm_sm, gt_sm + 1, f"{cm_sm:.2f} ms vs {gt_sm:.2f} + 1 ms"),
        ("create-meeting cold <= get-token cold + 1 ms (env secret)",
         cm, gt + 1, f"{cm:.2f} ms vs {gt:.2f} + 1 ms"),
        ("mint <= 1/50 of Node's jsonwebtoken.sign",
         mint * 50, sign["median_ns"] / 1000, f"1/{sign['median_ns'] / 1000 / mint:.0f} ({mint:.2f} us vs "
                                               f"{sign['median_ns'] / 1000:.1f} us)"),
        ("get-token handler median <= 7 x the mint alone (same run)", handler, 7 * mint,
         f"{handler:.2f} us vs 7 x {mint:.2f} = {7 * mint:.2f} us ({handler / mint:.1f}x)"),
        ("metrics add <= 1 us to a served get-token (on against off)", metrics_cost, 1, metrics_shown),
        ("own EMF per invocation <= metrics_cloudwatch_embedded's", own["per_invocation_ns"],
         crate["per_invocation_ns"], f"{own['per_invocation_ns'] / 1000:.2f} vs {crate['per_invocation_ns'] / 1000:.2f} us"),
        ("webhook verify + parse median <= 2 x RSA-2048 verify alone (same run)", fig["webhook_us"],
         2 * fig["rsa_verify_us"], f"{fig['webhook_us']:.2f} us vs 2 x {fig['rsa_verify_us']:.2f} = "
                                   f"{2 * fig['rsa_verify_us']:.2f} us ({fig['webhook_us'] / fig['rsa_verify_us']:.2f}x)"),
        ("videosdk-webhook (SM) cold <= get-token (SM) cold + 1 ms",
         wh_sm, gt_sm + 1, f"{wh_sm:.2f} ms vs {gt_sm:.2f} + 1 ms (to a first 401, nothing published: "
                           f"{fig['videosdk-webhook (401)']['cold_ms']:.2f} ms)"),
        ("get-token warm p50 with limits <= without + DynamoDB round trip + 0.3 ms (interleaved)",
         inter["limited"], inter["plain"] + inter["ddb"] + 0.3,
         f"{inter['limited']:.2f} ms vs {inter['plain']:.2f} + {inter['ddb']:.2f} + 0.3 = "
         f"{inter['plain'] + inter['ddb'] + 0.3:.2f} ms ({inter['rounds']} each, one by one)"),
    ]
    da, cm_warm = fig["dispatch-agent"], fig["create-meeting"]["warm_p50_ms"]
    checks += [
        ("dispatch-agent cold <= create-meeting cold + 0.5 ms (env secret, same stand-in)",
         da["cold_ms"], cm + 0.5, f"{da['cold_ms']:.2f} ms vs {cm:.2f} + 0.5 ms"),
        ("dispatch-agent warm p50 <= 1.2 x create-meeting's (same stand-in)",
         da["warm_p50_ms"], 1.2 * cm_warm, f"{da['warm_p50_ms']:.2f} ms vs 1.2 x {cm_warm:.2f} = {1.2 * cm_warm:.2f} ms"),
    ]
    checks += [(f"{label} peak RSS <= 10 MiB after {n['rss_invocations']:,}", fig[label]["rss_mib"], 10,
                f"{fig[label]['rss_mib']:.2f} MiB")
               for label in ("get-token (SM)", "get-token (SM, limits)", "create-meeting (SM)", "videosdk-webhook (SM)",
                             "dispatch-agent")]
    # The per-caller limits link the DynamoDB client into the five limited functions. Its share,
    # measured here: start-recording against end-recording (alike but for the limiter).
    sizes = fig["zipped_mib"]
    limiter_mib = sizes["start-recording"] - sizes["end-recording"]
    print(f"zipped share of the DynamoDB client and limiter: {limiter_mib:+.2f} MiB (start-recording "
          f"{sizes['start-recording']:.2f} vs end-recording {sizes['end-recording']:.2f})")
    # The functions that link the DynamoDB client: the limited ones, and videosdk-webhook (its
    # publish-once record).
    limited = {"get-token", "agent-token", "create-meeting", "create-livestream", "start-recording", "dispatch-agent",
               "start-transcription", "videosdk-webhook"}
    checks += [(f"{name} zipped bootstrap <= 2.5 MiB", size, 2.5, f"{size:.2f} MiB")
               for name, size in sizes.items() if name != "floor" and name not in limited]
    checks += [(f"{name} zipped bootstrap <= 2.5 MiB + the limiter's measured share", size, 2.5 + limiter_mib,
                f"{size:.2f} MiB vs 2.5 + {limiter_mib:.2f}") for name, size in sizes.items() if name in limited]
    if dev is not None:
        build = fig["dev_build_s"]
        checks.append(("make dev, fresh clone to first token <= 1.5 x a plain cargo build of the same (same run)",
                       dev, 1.5 * build, f"{dev:.1f} s vs 1.5 x {build:.1f} = {1.5 * build:.1f} s ({dev / build:.2f}x)"))
    missed = []
    print("targets:")
    for what, value, limit, shown in checks:
        ok = value <= limit
        print(f"  {'ok  ' if ok else 'MISS'} {what}: {shown}")
        if not ok:
            missed.append(what)
    print("all targets met" if not missed else f"{len(missed)} target(s) missed")
    return missed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few iterations, no targets checked")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-dev", action="store_true", help="leave out timing make dev in a fresh clone")
    args = parser.parse_args()
    fig, n = run(args.smoke, args.skip_dev)
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2))
    missed = report(fig, n, args.smoke)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
