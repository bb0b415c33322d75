"""The arm64 artifact that deploys use by default (template: Architecture=arm64), run: the
`get-token` bootstrap built for aarch64 by `make arm64` (cargo-lambda with zig), executed under
qemu-user through cargo-lambda's runtime emulator, its secret read from Secrets Manager (moto)."""

import json
import subprocess
import urllib.request

import jwt

from conftest import API_KEY, ROOT, SECRET, moto_with_secret, runtime_emulator, zipped_mib

ARM64_BOOTSTRAP = ROOT / "target" / "arm64" / "lambda" / "get-token" / "bootstrap"
# The aarch64 glibc comes from Debian multiarch (libc6:arm64, with libstd-rust-web-dev:arm64).
QEMU = ["qemu-aarch64"]


def test_the_arm64_get_token_bootstrap_mints_a_verified_token(processes):
    assert ARM64_BOOTSTRAP.exists(), "build it with `make arm64` (make test does)"
    described = subprocess.run(["file", "-b", ARM64_BOOTSTRAP], capture_output=True, text=True).stdout
    assert "ARM aarch64" in described, described

    endpoint = moto_with_secret(processes, "videosdk/arm64")
    port, runtime_env = runtime_emulator(processes, "get-token-arm64")
    processes.start("get-token-arm64", QEMU + [ARM64_BOOTSTRAP], env={
        **runtime_env, "AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/arm64", "CALLER_AUTH": "none"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/lambda-url/_/?roomId=arm6-4arm-64ar", timeout=120) as resp:
        assert resp.status == 200
        token = json.loads(resp.read())["token"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["apikey"] == API_KEY
    assert claims["roomId"] == "arm6-4arm-64ar"
    assert claims["roles"] == ["rtc"]

    print(f"arm64 get-token bootstrap: {ARM64_BOOTSTRAP.stat().st_size / 2**20:.2f} MiB, "
          f"zipped {zipped_mib(ARM64_BOOTSTRAP):.2f} MiB")
