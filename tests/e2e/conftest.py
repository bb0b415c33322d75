"""Shared fixtures for the end-to-end tests.

They run the `bootstrap` binaries that `sam build` packages (release builds by cargo-lambda)
under cargo-lambda's Lambda runtime emulator (`cargo lambda watch --only-lambda-apis`), with
the secret in a real Secrets Manager endpoint (`moto_server`). Every process started here is
stopped at the end, also when a test fails.
"""

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_BUILD = Path(os.environ.get("E2E_SAM_BUILD", ROOT / ".aws-sam" / "build"))
STANDIN = Path(os.environ.get("E2E_STANDIN", ROOT / "target" / "debug" / "videosdk-standin"))


def bootstrap(name):
    """The packaged binary of a function: get-token -> .aws-sam/build/GetTokenFunction/bootstrap."""
    logical = "".join(part.capitalize() for part in name.split("-")) + "Function"
    return SAM_BUILD / logical / "bootstrap"
VENV_BIN = ROOT / ".venv" / "bin"
REGION = "us-east-1"
AWS_ENV = {
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def status_kib(pid, field):
    """A memory figure of a running process from /proc (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def zipped_mib(path):
    """A bootstrap's size zipped as SAM and cargo-lambda upload it (deflate), in MiB."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bootstrap.zip"
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(path, "bootstrap")
        return out.stat().st_size / 2**20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Ports browsers refuse to connect to (the Fetch standard's "bad ports"): where `make dev` puts
# the Lambda emulator, whose Invoke API takes whole events.
BAD_PORTS = (6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080)


def free_bad_port():
    for port in BAD_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"none of {BAD_PORTS} is free")


def listening_sockets(pids):
    """(address, port) of every TCP socket in LISTEN state that one of `pids` holds (from /proc)."""
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            for fd in fd_dir.iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            if family == 4:
                address = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                address = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.add((address, int(hex_port, 16)))
    return found


def process_group(pgid):
    """The pids of a process group (a process started by Processes, and what it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def wait_for_port(port, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


class Processes:
    """Starts processes in their own process groups and stops them all."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.procs = []

    def start(self, name, args, env=None, cwd=ROOT):
        # One log per process, even when two run the same binary.
        path, n = self.tmp_path / f"{name}.log", 1
        while path.exists():
            n += 1
            path = self.tmp_path / f"{name}-{n}.log"
        log = open(path, "wb")
        proc = subprocess.Popen(
            [str(a) for a in args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_path = path
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


def cargo_lambda():
    found = shutil.which("cargo-lambda") or str(VENV_BIN / "cargo-lambda")
    return [found, "lambda"]


@functools.cache
def emulator_dir():
    """An empty Cargo project for the runtime emulator to start in. `cargo lambda watch` scans the
    project it starts in; in this repository (target/ holds gigabytes) that costs ~2.5 s of each
    start, here ~0.1 s. With --only-lambda-apis nothing of the project is built or served."""
    path = Path(tempfile.mkdtemp(prefix="runtime-emulator-"))
    (path / "src").mkdir()
    (path / "src" / "main.rs").write_text("fn main() {}\n")
    (path / "Cargo.toml").write_text('[package]\nname = "runtime-emulator"\nversion = "0.0.0"\n'
                                     'edition = "2021"\npublish = false\n\n[workspace]\n')
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def runtime_emulator(procs, name):
    """cargo-lambda's Lambda runtime emulator for one function: its port, and the environment a
    `bootstrap` needs to take its invocations (tools/bench.py, tools/soak.py)."""
    port = free_port()
    watch = procs.start(f"{name}-runtime", cargo_lambda() + ["watch", "--only-lambda-apis", "-A", "127.0.0.1",
                                                              "-P", port], cwd=emulator_dir())
    wait_for_port(port, watch, "cargo lambda watch")
    return port, {**AWS_ENV, "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                  "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt"}


def moto_with_secret(procs, secret_id):
    """A moto_server holding the VideoSDK credentials as `secret_id`; returns its endpoint."""
    port = free_port()
    proc = procs.start("moto", [VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port])
    wait_for_port(port, proc, "moto_server")
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_secret(
        Name=secret_id, SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))
    return endpoint


def dynamodb(endpoint):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def limits_table(endpoint, name="videosdk-rate-limits"):
    """The rate-limit table as the template creates it: key pk (S), on demand, TTL on expiresAt."""
    db = dynamodb(endpoint)
    db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    db.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
    return name


def emf_records(log):
    """Every EMF metrics record in a function's log (one JSON line each, `_aws` first): (line, record)."""
    return [(line, json.loads(line)) for line in log.splitlines() if line.startswith('{"_aws"')]


@pytest.fixture
def moto(processes):
    port = free_port()
    proc = processes.start("moto", [VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port])
    wait_for_port(port, proc, "moto_server")
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return endpoint, client


class Function:
    """One release binary served by the Lambda runtime emulator."""

    def __init__(self, name, port, proc):
        self.name = name
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}/lambda-url/_"

    def log(self):
        return self.proc.log_path.read_text(errors="replace")

    def request(self, method, path="/", query="", body=None, headers=None, timeout=30):
        url = self.url + path + (f"?{query}" if query else "")
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), json.loads(err.read())

    def invoke_event(self, event, timeout=30):
        """One invocation with `event` (a dict), straight to the emulator's Invoke API (threads may
        call this at once); returns the Lambda response object."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/2015-03-31/functions/_/invocations",
                                     data=json.dumps(event).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def invoke(self, event_file):
        """`cargo lambda invoke` with a stored event; returns the Lambda response object."""
        out = subprocess.run(
            cargo_lambda() + ["invoke", "--invoke-address", "127.0.0.1", "--output-format", "json", "-P", str(self.port),
                              "--data-file", str(ROOT / "events" / event_file), "_"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture
def start_function(processes):
    def start(name, env):
        binary = bootstrap(name)
        assert binary.exists(), f"{binary} is missing: run `make sam-build` first (make test does)"
        port, runtime_env = runtime_emulator(processes, name)
        proc = processes.start(name, [binary], env={**runtime_env, **env})
        return Function(name, port, proc)

    return start


API_KEY = "e2e-api-key"
SECRET = "e2e-secret-7f3a9c-0123456789abcdef0123"
FUNCTIONS = ["get-token", "create-meeting", "validate-meeting", "create-livestream", "end-livestream",
             "videosdk-webhook", "start-recording", "end-recording", "list-recordings", "end-meeting", "agent-token",
             "dispatch-agent", "start-transcription", "end-transcription"]


@pytest.fixture
def standin(processes):
    """The VideoSDK stand-in, accepting tokens for API_KEY/SECRET."""
    assert STANDIN.exists(), f"{STANDIN} is missing: run `cargo build -p videosdk-standin` (make test does)"
    port = free_port()
    proc = processes.start(
        "videosdk-standin",
        [STANDIN, "--port", port],
        env={"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET},
    )
    wait_for_port(port, proc, "videosdk-standin")
    return f"http://127.0.0.1:{port}"


def standin_join(standin_url, room_id):
    """A participant joins `room_id` in the stand-in: its session starts."""
    req = urllib.request.Request(standin_url + "/_standin/join", method="POST",
                                 data=json.dumps({"roomId": room_id}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def standin_webhooks(standin_url):
    with urllib.request.urlopen(standin_url + "/_standin/webhooks", timeout=10) as resp:
        return json.loads(resp.read())


def standin_requests(standin_url):
    with urllib.request.urlopen(standin_url + "/_standin/requests", timeout=10) as resp:
        return json.loads(resp.read())


# Anonymous callers allowed to run live streams, record, end meetings and get agent tokens, as an
# operator opts in for local use (and as `make dev` does).
OPTED_IN = {"ANONYMOUS_LIVESTREAMS": "allow", "LIVESTREAM_ALLOWED_HOSTS": "a.rtmp.youtube.com,live.twitch.tv",
            "ANONYMOUS_HLS": "allow", "ANONYMOUS_END_LIVESTREAMS": "allow", "ANONYMOUS_CUSTOM_ROOM_IDS": "allow",
            "ANONYMOUS_ROOM_CONTROL": "allow", "ANONYMOUS_AGENT_TOKENS": "allow", "ANONYMOUS_AGENT_DISPATCH": "allow"}
# `make dev`'s development webhook key, which the sample webhook events carry in their path.
DEV_WEBHOOK_KEY = "dev-webhook-key-not-secret-0123456789"
# The agents every deployment here lists: the stand-in's, and one pinned to a version.
AGENTS = "dev-agent,pinned-agent=pinned-v1"


@pytest.fixture
def deployment(moto, standin, start_function):
    """Every function, their secret in Secrets Manager, VideoSDK played by the stand-in.

    Returns a factory: deployment(caller_auth) -> {name: Function}.
    """
    endpoint, sm = moto
    sm.create_secret(Name="videosdk/e2e", SecretString=json.dumps({"apiKey": API_KEY, "secret": SECRET}))

    def start(caller_auth="none", **extra):
        if caller_auth == "opted-in":
            caller_auth, extra = "none", {**OPTED_IN, **extra}
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "VIDEOSDK_SECRET_ID": "videosdk/e2e",
            "VIDEOSDK_API_ENDPOINT": standin,
            "CALLER_AUTH": caller_auth,
            "AGENTS": AGENTS,
            "WEBHOOK_KEY": DEV_WEBHOOK_KEY,
            **extra,
        }
        fns = {name: start_function(name, env) for name in FUNCTIONS}
        for fn in fns.values():
            fn.standin = standin
        return fns

    return start


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`make dev`'s script (tools/dev.sh) on free ports, with nothing configured.

    Yields the base URL `http://localhost:<port>/lambda-url`; stops everything afterwards.
    """
    tmp = tmp_path_factory.mktemp("dev")
    procs = Processes(tmp)
    port, standin_port = free_port(), free_port()
    clean_env = {k: "" for k in ("VIDEOSDK_SECRET_ID", "VIDEOSDK_API_KEY", "VIDEOSDK_SECRET",
                                 "VIDEOSDK_API_ENDPOINT", "CALLER_AUTH", "RUST_LOG", "METRICS_NAMESPACE", "LAN")}
    # The target directory elsewhere, as a developer's CARGO_TARGET_DIR or build.target-dir puts
    # it: a link to the shared one, so nothing is rebuilt.
    target_dir = tmp / "cargo-target"
    target_dir.symlink_to(ROOT / "target")
    emulator_port = free_bad_port()
    proc = procs.start("make-dev", [ROOT / "tools" / "dev.sh"],
                       env={**clean_env, "DEV_PORT": str(port), "DEV_STANDIN_PORT": str(standin_port),
                            "DEV_EMULATOR_PORT": str(emulator_port), "CARGO_TARGET_DIR": str(target_dir)})
    base = f"http://localhost:{port}/lambda-url"
    try:
        wait_for_port(port, proc, "make dev", timeout=600)
        # dev.sh builds everything before it listens; the first call starts the function.
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(base + "/get-token/", timeout=600) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("make dev never answered:\n" + proc.log_path.read_text(errors="replace"))
                time.sleep(1)
        proc.base = base
        proc.target_dir, proc.standin_port, proc.emulator_port = target_dir, standin_port, emulator_port
        yield proc
    finally:
        procs.stop_all()
