"""`cargo lambda deploy` picks up each function's settings from Cargo.toml: checked with
`--dry`, which packages the binary and prints the configuration without calling AWS."""

import json
import os
import subprocess

import pytest

from conftest import AWS_ENV, FUNCTIONS, ROOT, cargo_lambda

LAMBDA_DIR = ROOT / "target" / "lambda-build" / "lambda"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_deploy_configuration_of_every_function(name):
    assert (LAMBDA_DIR / name / "bootstrap").exists(), "run `make sam-build` first (make test does)"
    out = subprocess.run(
        cargo_lambda() + ["deploy", "--dry", "--output-format", "json", "--lambda-dir", str(LAMBDA_DIR),
                          "--iam-role", "arn:aws:iam::123456789012:role/videosdk-token-server", name],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **AWS_ENV},
    )
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout[out.stdout.index("{"):])
    config = plan["config"]
    assert plan["name"] == name
    assert config["runtime"] == "provided.al2023"
    assert config["memory"] == 256 and config["timeout"] == 15
    env = dict(v.split("=", 1) for v in config["env_var"])
    assert env["VIDEOSDK_SECRET_ID"] == "videosdk/token-server"
    assert env["CALLER_AUTH"] == "jwt"
    assert config["description"]
