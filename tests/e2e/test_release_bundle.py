"""The release bundle `make release` writes (dist/videosdk-token-server-<version>/), checked as an
operator without Rust uses it: DEPLOY.md's checksum command, the linters SAM runs, the stack it
renders (the source template's, apart from where the code is), `sam package` (the first half of
`sam deploy`) against moto's S3, and each zip's bootstrap as Lambda's provided.al2023 on arm64
would run it. Only AWS itself is left: get-token's bootstrap runs under qemu in test_arm64.py."""

import hashlib
import re
import subprocess
import sys
import tomllib
import zipfile

import boto3
import pytest
import yaml

from conftest import AWS_ENV, REGION, ROOT, VENV_BIN

VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
BUNDLE = ROOT / "dist" / f"videosdk-token-server-{VERSION}"
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))
# Lambda's provided.al2023 has glibc 2.34.
MAX_GLIBC = (2, 34)
EM_AARCH64 = 183


def sam_env(**extra):
    import os
    return {**os.environ, **AWS_ENV, "SAM_CLI_TELEMETRY": "0", "PATH": f"{VENV_BIN}:{os.environ['PATH']}", **extra}


@pytest.fixture(scope="module")
def bundle():
    assert BUNDLE.is_dir(), f"{BUNDLE} is missing: run `make release` (make test does)"
    return BUNDLE


def load(path):
    from samcli.yamlhelper import yaml_parse
    return yaml_parse(path.read_text())


def test_the_bundle_holds_the_zips_the_template_and_what_deploy_md_says(bundle):
    names = {p.name for p in bundle.iterdir()}
    assert names == {f"{f}.zip" for f in FUNCTIONS} | {"template.yaml", "samconfig.toml", "DEPLOY.md", "README.md",
                                                        "LICENSE", "SHA256SUMS"}, names
    # DEPLOY.md's first command, as written.
    deploy = (bundle / "DEPLOY.md").read_text()
    assert "sha256sum -c SHA256SUMS" in deploy
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(checked.stdout.splitlines()) == len(names) - 1
    assert VERSION in deploy.splitlines()[0]
    # Every parameter DEPLOY.md tells the operator about is one the stack has.
    parameters = load(bundle / "template.yaml")["Parameters"]
    named = set(re.findall(r"^\| `(\w+)`", deploy, re.M)) | set(re.findall(r"^\| `\w+`, `(\w+)`", deploy, re.M))
    assert named and named <= set(parameters), named - set(parameters)
    # Only tools an operator has: the AWS CLI and SAM CLI.
    commands = [re.sub(r"^\w+=\$\(", "", line).split()[0] for block in re.findall(r"```sh\n(.*?)```", deploy, re.S)
                for line in block.splitlines() if line.strip() and not line.startswith(" ")]
    assert set(commands) <= {"sha256sum", "aws", "sam", "curl", "read"}, commands
    # No <placeholder> in what is run as printed (the secret is read, the URL asked of the stack).
    assert not re.search(r"<[a-z][^>]*>", "".join(re.findall(r"```sh\n(.*?)```", deploy, re.S)))
    # No build: samconfig has no build or sync section; sam deploy finds its defaults.
    samconfig = tomllib.loads((bundle / "samconfig.toml").read_text())
    assert set(samconfig["default"]) == {"global", "validate", "deploy"}, samconfig["default"]
    assert samconfig["default"]["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    # No example values a guided deploy would offer as defaults (the placeholder issuer cannot deploy).
    assert "parameter_overrides" not in samconfig["default"]["deploy"]["parameters"]
    assert "<" not in (bundle / "samconfig.toml").read_text() and "samconfig.local.toml" not in (bundle / "samconfig.toml").read_text()


def test_the_template_names_the_version_and_the_zips_and_passes_the_linters(bundle):
    template = load(bundle / "template.yaml")
    app = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert app["SemanticVersion"] == VERSION
    assert (app["Name"], app["SpdxLicenseId"], app["LicenseUrl"], app["ReadmeUrl"]) == (
        "videosdk-token-server", "MIT", "LICENSE", "README.md")
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert sorted(f["Properties"]["CodeUri"] for f in functions.values()) == [f"{f}.zip" for f in FUNCTIONS]
    assert all("Metadata" not in f for f in functions.values()), "no build metadata"
    assert "CodeUri" not in template["Globals"]["Function"]
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["arm64"]
    for command in (["sam", "validate", "--lint", "--template-file", "template.yaml"],
                    [str(VENV_BIN / "cfn-lint"), "template.yaml"]):
        out = subprocess.run(command, cwd=bundle, capture_output=True, text=True, env=sam_env())
        assert out.returncode == 0, f"{command}: {out.stdout}{out.stderr}"


def test_the_bundle_renders_the_source_stack_apart_from_the_code(bundle):
    sys.path.insert(0, str(ROOT / "tools"))
    from render_template import render
    source, released = render(ROOT / "template.yaml"), render(bundle / "template.yaml")
    assert source["Resources"].keys() == released["Resources"].keys()
    # render() gives every function the same code location; only the resource's build
    # metadata (copied onto the function by the translator) differs.
    for name, resource in source["Resources"].items():
        resource.pop("Metadata", None)
        released["Resources"][name].pop("Metadata", None)
        assert resource == released["Resources"][name], name
    for section in ("Conditions", "Rules", "Outputs", "Globals"):
        assert source.get(section) == released.get(section), section
    arch_source, arch_released = source["Parameters"].pop("Architecture"), released["Parameters"].pop("Architecture")
    assert source["Parameters"] == released["Parameters"]
    assert (arch_source["Default"], arch_released["Default"]) == ("arm64", "arm64")


def test_sam_package_uploads_each_zip_and_points_the_template_at_s3(bundle, moto, tmp_path):
    endpoint, _ = moto
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="deploy-artifacts")
    packaged = tmp_path / "packaged.yaml"
    out = subprocess.run(["sam", "package", "--template-file", "template.yaml", "--s3-bucket", "deploy-artifacts",
                          "--output-template-file", str(packaged), "--region", REGION],
                         cwd=bundle, capture_output=True, text=True, env=sam_env(AWS_ENDPOINT_URL=endpoint))
    assert out.returncode == 0, out.stdout + out.stderr
    template = yaml.safe_load(packaged.read_text().replace("!", "_"))
    uploaded = {o["Key"]: o for o in s3.list_objects_v2(Bucket="deploy-artifacts")["Contents"]}
    for name, fn in template["Resources"].items():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        uri = fn["Properties"]["CodeUri"]
        assert uri.startswith("s3://deploy-artifacts/"), (name, uri)
        key = uri.removeprefix("s3://deploy-artifacts/")
        body = s3.get_object(Bucket="deploy-artifacts", Key=key)["Body"].read()
        binary = next(f for f in FUNCTIONS if "".join(p.capitalize() for p in f.split("-")) + "Function" == name)
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256((bundle / f"{binary}.zip").read_bytes()).hexdigest()
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == len(FUNCTIONS)
    # The Serverless Application Repository's README and license go with it.
    app = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert app["LicenseUrl"].startswith("s3://deploy-artifacts/") and app["ReadmeUrl"].startswith("s3://")
    assert len(uploaded) >= len(FUNCTIONS) + 2, sorted(uploaded)


def glibc_versions(path):
    """The GLIBC_x.y versions an ELF file needs (none: static)."""
    out = subprocess.run(["readelf", "--version-info", "--wide", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {tuple(int(n) for n in v.split(".")) for v in re.findall(r"Name: GLIBC_([0-9.]+)", out.stdout)}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_zip_holds_an_aarch64_bootstrap_that_provided_al2023_runs(bundle, function, tmp_path):
    with zipfile.ZipFile(bundle / f"{function}.zip") as z:
        [info] = z.infolist()
        assert info.filename == "bootstrap"
        assert (info.external_attr >> 16) & 0o111, "executable"
        elf = z.read(info)
    assert elf[:4] == b"\x7fELF" and elf[4] == 2, "64-bit ELF"
    assert int.from_bytes(elf[18:20], "little") == EM_AARCH64, "aarch64"
    (tmp_path / "bootstrap").write_bytes(elf)
    needed = glibc_versions(tmp_path / "bootstrap")
    assert all(v <= MAX_GLIBC for v in needed), f"needs glibc {max(needed)}"
    interpreter = subprocess.run(["readelf", "--program-headers", str(tmp_path / "bootstrap")],
                                 capture_output=True, text=True).stdout
    assert "ld-linux-aarch64.so.1" in interpreter or not needed, "the aarch64 loader, or static"
    print(f"{function}: {len(elf) / 2**20:.2f} MiB, zipped {(bundle / f'{function}.zip').stat().st_size / 2**20:.2f} MiB,"
          f" glibc {'.'.join(map(str, max(needed))) if needed else 'static'}")
