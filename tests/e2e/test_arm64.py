"""The arm64 artifact that deploys use by default (template: Architecture=arm64), run: the
`get-token` bootstrap from the release bundle `make release` writes (cargo-lambda with zig, zipped),
executed under qemu-user through cargo-lambda's runtime emulator, its secret read from Secrets
Manager (moto). test_release_bundle.py checks every other function's zip as an aarch64
executable for provided.al2023; they are built in the same cargo run as this one."""

import json
import subprocess
import tomllib
import urllib.request
import zipfile

import jwt

from conftest import API_KEY, ROOT, SECRET, moto_with_secret, runtime_emulator

VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
ARM64_ZIP = ROOT / "dist" / f"videosdk-token-server-{VERSION}" / "get-token.zip"
# The aarch64 glibc comes from Debian multiarch (libc6:arm64, with libstd-rust-web-dev:arm64).
QEMU = ["qemu-aarch64"]


def test_the_arm64_get_token_bootstrap_mints_a_verified_token(processes, tmp_path):
    assert ARM64_ZIP.exists(), "build it with `make release` (make test does)"
    with zipfile.ZipFile(ARM64_ZIP) as z:
        z.extract("bootstrap", tmp_path)
    bootstrap = tmp_path / "bootstrap"
    bootstrap.chmod(0o755)
    described = subprocess.run(["file", "-b", bootstrap], capture_output=True, text=True).stdout
    assert "ARM aarch64" in described, described

    endpoint = moto_with_secret(processes, "videosdk/arm64")
    port, runtime_env = runtime_emulator(processes, "get-token-arm64")
    processes.start("get-token-arm64", QEMU + [bootstrap], env={
        **runtime_env, "AWS_ENDPOINT_URL": endpoint, "VIDEOSDK_SECRET_ID": "videosdk/arm64", "CALLER_AUTH": "none"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/lambda-url/_/?roomId=arm6-4arm-64ar", timeout=120) as resp:
        assert resp.status == 200
        token = json.loads(resp.read())["token"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["apikey"] == API_KEY
    assert claims["roomId"] == "arm6-4arm-64ar"
    assert claims["roles"] == ["rtc"]

    print(f"arm64 get-token bootstrap: {bootstrap.stat().st_size / 2**20:.2f} MiB, "
          f"zipped {ARM64_ZIP.stat().st_size / 2**20:.2f} MiB")
