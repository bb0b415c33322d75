"""The docs run as printed. Every ```sh block of README.md, CONTRIBUTING.md and docs/ runs, as it
is, against `make dev` on its documented ports (9000, the stand-in on 8790), nothing configured;
blocks marked ```sh caller-auth=jwt run against `CALLER_AUTH=jwt make dev`. Then every sample
event of docs/local-development.md's table is sent with `cargo lambda invoke` as the docs print
it, and gets the status its column says, in each mode."""

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, VENV_BIN, Processes, cargo_lambda, free_bad_port, wait_for_port
from test_functions_runtime import EVENT_STATUS, function_of

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
PORT, STANDIN_PORT = 9000, 8790
TABLE = ROOT / "docs" / "local-development.md"


def blocks(mode):
    """The runnable blocks for `mode` (None: plain make dev), in page order: (page, text)."""
    found = []
    for page in PAGES:
        for info, text in re.findall(r"^```(sh[^\n]*)\n(.*?)^```", page.read_text(), re.M | re.S):
            marked = "caller-auth=jwt" in info
            if info.split()[0] == "sh" and marked == (mode == "jwt"):
                found.append((page.relative_to(ROOT), text))
    return found


def documented_statuses():
    """event file -> (make dev status, CALLER_AUTH=jwt status): the first number in each cell."""
    lines = TABLE.read_text().splitlines()
    header = next(line for line in lines if line.startswith("| event |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    dev, jwt = columns.index("`make dev`"), columns.index("`CALLER_AUTH=jwt`")
    statuses = {}
    for line in lines:
        m = re.match(r"\| `([a-z0-9-]+\.json)` \|", line)
        if m:
            cells = [c.strip() for c in line.strip("|").split("|")]
            statuses[m.group(1)] = tuple(int(re.search(r"\b([1-5][0-9]{2})\b", cells[i]).group(1)) for i in (dev, jwt))
    return statuses


def port_is_free(port, wait=20):
    """Whether a server could listen on `port` (as make dev's do, with SO_REUSEADDR: connections
    of an earlier run may linger in TIME_WAIT), waiting a little for an earlier run to let go."""
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
        time.sleep(0.5)


def make_dev(tmp_path, **env):
    for port in (PORT, STANDIN_PORT):
        assert port_is_free(port), f"port {port} is taken: the docs' commands need make dev on its own ports"
    procs = Processes(tmp_path)
    clean = {k: "" for k in ("VIDEOSDK_SECRET_ID", "VIDEOSDK_API_KEY", "VIDEOSDK_SECRET", "VIDEOSDK_API_ENDPOINT",
                             "CALLER_AUTH", "DEV_PORT", "DEV_STANDIN_PORT", "RUST_LOG", "METRICS_NAMESPACE", "LAN")}
    proc = procs.start("make-dev", [ROOT / "tools" / "dev.sh"],
                       env={**clean, "DEV_EMULATOR_PORT": str(free_bad_port()), **env})
    wait_for_port(PORT, proc, "make dev", timeout=600)
    return procs, proc


def run_blocks(mode, proc):
    ran = 0
    for page, text in blocks(mode):
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=ROOT, capture_output=True, text=True,
                             timeout=600, env={**os.environ, "PATH": os.environ["PATH"].replace(f"{VENV_BIN}:", "")})
        assert out.returncode == 0, (page, text, out.stdout[-2000:], out.stderr[-2000:])
        for bad in ['"internal_error"', '"configuration_error"', "statusCode\":5", "Missing function"]:
            assert bad not in out.stdout, (page, text, out.stdout[-2000:])
        ran += 1
    return ran


def invoke_every_event(mode, expected):
    for event_file in EVENT_STATUS:
        out = subprocess.run(cargo_lambda() + ["invoke", function_of(event_file), "--data-file",
                                               f"events/{event_file}"]
                             + ([] if ipv6_loopback() else ["--invoke-address", "127.0.0.1"]),
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, (event_file, out.stderr)
        status = json.loads(out.stdout)["statusCode"]
        assert status == expected[event_file], (mode, event_file, status, expected[event_file], out.stdout[:500])


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            return True
    except OSError:
        return False


@pytest.mark.parametrize("mode", [None, "jwt"])
def test_the_docs_commands_and_the_sample_event_table_hold_against_make_dev(tmp_path, mode):
    documented = documented_statuses()
    assert set(documented) == set(EVENT_STATUS), "the table lists every stored event"
    procs, proc = make_dev(tmp_path, **({"CALLER_AUTH": "jwt"} if mode == "jwt" else {}))
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                urllib.request.urlopen(f"http://localhost:{PORT}/validate-meeting/warm-up", timeout=600)
            except urllib.error.HTTPError:
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and proc.poll() is None, proc.log_path.read_text()[-3000:]
                time.sleep(1)
            else:
                break
        assert run_blocks(mode, proc) >= (4 if mode is None else 1)
        column = 0 if mode is None else 1
        invoke_every_event(mode or "make dev", {f: statuses[column] for f, statuses in documented.items()})
        assert "panicked" not in proc.log_path.read_text(errors="replace")
    finally:
        procs.stop_all()
