"""`make soak`: many invocations of the packaged `get-token` and `create-meeting` bootstraps through
cargo-lambda's runtime emulator, the secret read from Secrets Manager (moto_server), VideoSDK
played by the local stand-in. Prints errors and resident memory, and fails on any error or on
RSS growth of 1 MiB or more from the 1,000th invocation on. The test command runs a short
version (tests/e2e/test_soak.py)."""

import argparse
import http.client
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import (  # noqa: E402
    API_KEY, SECRET, STANDIN, Processes, bootstrap, free_port, moto_with_secret, runtime_emulator, status_kib,
    wait_for_port,
)

BASELINE_AT = 1_000
MAX_GROWTH_KIB = 1024


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


def soak_one(procs, name, env, count, method, body):
    """`count` invocations of one warm function; returns its figures."""
    port, runtime_env = runtime_emulator(procs, name)
    proc = procs.start(name, [bootstrap(name)], env={**runtime_env, **env})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    errors, baseline, samples = [], None, []
    started = time.perf_counter()
    for i in range(1, count + 1):
        try:
            conn.request(method, "/lambda-url/_/", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            payload = resp.read()
            if resp.status != 200 or b'"error"' in payload:
                errors.append(f"#{i}: {resp.status} {payload[:200]!r}")
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"#{i}: {e!r}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if i == min(BASELINE_AT, count):
            baseline = rss_kib(proc.pid)
        if i % max(1, count // 10) == 0:
            samples.append((i, rss_kib(proc.pid)))
    elapsed = time.perf_counter() - started
    final = rss_kib(proc.pid)
    return {"name": name, "count": count, "errors": errors, "seconds": elapsed, "baseline_kib": baseline,
            "final_kib": final, "growth_kib": final - baseline, "samples": samples}


def soak(get_token_count, create_meeting_count):
    missing = [n for n in ("get-token", "create-meeting") if not bootstrap(n).exists()]
    if missing or not STANDIN.exists():
        sys.exit("run `make sam-build` and `cargo build -p videosdk-standin` first (make soak does)")
    procs = Processes(Path(tempfile.mkdtemp(prefix="soak-")))
    try:
        port = free_port()
        standin = procs.start("standin", [STANDIN, "--port", port],
                              env={"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET})
        wait_for_port(port, standin, "videosdk-standin")
        endpoint = moto_with_secret(procs, "videosdk/soak")
        env = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/soak", "CALLER_AUTH": "none",
               "VIDEOSDK_API_ENDPOINT": f"http://127.0.0.1:{port}"}
        return [
            soak_one(procs, "get-token", env, get_token_count, "GET", None),
            soak_one(procs, "create-meeting", env, create_meeting_count, "POST", b"{}"),
        ]
    finally:
        procs.stop_all()


def report(results):
    """Prints the figures; returns the list of failures."""
    failures = []
    for r in results:
        rate = r["count"] / r["seconds"]
        print(f"soak {r['name']}: {r['count']} invocations in {r['seconds']:.1f} s ({rate:.0f}/s), "
              f"{len(r['errors'])} errors; RSS {r['baseline_kib']} KiB at #{min(BASELINE_AT, r['count'])} -> "
              f"{r['final_kib']} KiB at the end (growth {r['growth_kib']} KiB)")
        print("  RSS samples (invocation: KiB): " + ", ".join(f"{i}: {k}" for i, k in r["samples"]))
        if r["errors"]:
            failures.append(f"{r['name']}: {len(r['errors'])} errors, first {r['errors'][0]}")
        if r["growth_kib"] >= MAX_GROWTH_KIB:
            failures.append(f"{r['name']}: RSS grew {r['growth_kib']} KiB (limit {MAX_GROWTH_KIB})")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--get-token", type=int, default=100_000)
    parser.add_argument("--create-meeting", type=int, default=10_000)
    args = parser.parse_args()
    failures = report(soak(args.get_token, args.create_meeting))
    print("soak passed" if not failures else "SOAK FAILED: " + "; ".join(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
