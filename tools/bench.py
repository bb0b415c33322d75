"""`make bench`: cold start, warm latency and memory of the packaged functions, printed as figures
against the project's targets. Runs the `sam build` bootstraps under cargo-lambda's runtime
emulator on this machine, VideoSDK played by the local stand-in; loopback traffic only."""

import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import (  # noqa: E402
    API_KEY, SECRET, STANDIN, Processes, bootstrap, free_port, moto_with_secret, runtime_emulator, wait_for_port,
)

COLD_RUNS = 15
WARM_REQUESTS = 500
TARGETS = {"cold_ms": 50.0, "warm_p99_ms": 5.0, "rss_mib": 32.0}


def request(url, body=None):
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
        return resp.status


def rss_peak_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(procs, name, env, body=None):
    port, runtime_env = runtime_emulator(procs, name)
    url = f"http://127.0.0.1:{port}/lambda-url/_/"
    fn_env = {**runtime_env, **env}
    cold = []
    for i in range(COLD_RUNS):
        started = time.perf_counter()
        proc = procs.start(f"{name}-{i}", [bootstrap(name)], env=fn_env)
        assert request(url, body) == 200
        cold.append((time.perf_counter() - started) * 1000)
        if i < COLD_RUNS - 1:
            proc.terminate()
            proc.wait()
    warm = []
    for _ in range(WARM_REQUESTS):
        started = time.perf_counter()
        assert request(url, body) == 200
        warm.append((time.perf_counter() - started) * 1000)
    warm.sort()
    return {
        "cold_ms": statistics.median(cold),
        "warm_p50_ms": warm[len(warm) // 2],
        "warm_p99_ms": warm[int(len(warm) * 0.99)],
        "rss_mib": rss_peak_mib(proc.pid),
        "size_mib": bootstrap(name).stat().st_size / 2**20,
    }


def main():
    missing = [n for n in ("get-token", "create-meeting") if not bootstrap(n).exists()]
    if missing or not STANDIN.exists():
        sys.exit("run `make sam-build` and `cargo build -p videosdk-standin` first (make bench does)")
    procs = Processes(Path(tempfile.mkdtemp(prefix="bench-")))
    try:
        port = free_port()
        standin = procs.start("standin", [STANDIN, "--port", port],
                              env={"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET})
        wait_for_port(port, standin, "videosdk-standin")
        env = {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET": SECRET, "CALLER_AUTH": "none",
               "VIDEOSDK_API_ENDPOINT": f"http://127.0.0.1:{port}"}
        # The deployed shape: the secret read from Secrets Manager (moto_server) during INIT.
        endpoint = moto_with_secret(procs, "videosdk/bench")
        sm_env = {"AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/bench", "CALLER_AUTH": "none",
                  "VIDEOSDK_API_ENDPOINT": env["VIDEOSDK_API_ENDPOINT"]}
        results = {
            "get-token": bench(procs, "get-token", env),
            "create-meeting": bench(procs, "create-meeting", env, body=b"{}"),
            "get-token (SM)": bench(procs, "get-token", sm_env),
            "create-meeting (SM)": bench(procs, "create-meeting", sm_env, body=b"{}"),
        }
    finally:
        procs.stop_all()
    print("(SM) = secret read from Secrets Manager (moto_server) during INIT; otherwise from the environment")
    print(f"{'function':20} {'cold start':>11} {'warm p50':>9} {'warm p99':>9} {'peak RSS':>9} {'binary':>8}")
    over = []
    for name, r in results.items():
        print(f"{name:20} {r['cold_ms']:8.1f} ms {r['warm_p50_ms']:6.2f} ms {r['warm_p99_ms']:6.2f} ms "
              f"{r['rss_mib']:5.1f} MiB {r['size_mib']:4.1f} MiB")
        over += [f"{name} {k} {r[k]:.1f} > {t}" for k, t in TARGETS.items() if r[k] > t]
    print(f"targets: cold start (spawn to first answer, median of {COLD_RUNS}) <= {TARGETS['cold_ms']} ms, "
          f"warm p99 over {WARM_REQUESTS} requests <= {TARGETS['warm_p99_ms']} ms, peak RSS <= {TARGETS['rss_mib']} MiB")
    print("all within target" if not over else "OVER TARGET: " + "; ".join(over))
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
