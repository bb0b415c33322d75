#!/usr/bin/env python3
"""Assembles the release bundle from the arm64 bootstraps `make release` built:

    dist/videosdk-token-server-<version>/
      <function>.zip ...   one per function (bootstrap inside), for provided.al2023 on arm64
      template.yaml        the stack, its functions pointing at those zips, no build metadata
      samconfig.toml       sam deploy's defaults, without the build and sync sections
      DEPLOY.md            store the secret, sam deploy --guided, the parameters that matter
      README.md, LICENSE   for sam publish (the Serverless Application Repository)
      SHA256SUMS
    dist/videosdk-token-server-<version>.zip   the same, for a GitHub release

The version is Cargo.toml's workspace version, and nowhere else.

    tools/release.py <dir holding lambda/<function>/bootstrap.zip> [dist dir]
"""

import hashlib
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "videosdk-token-server"

# A function's build metadata, replaced by its zip.
FUNCTION_BUILD = re.compile(
    r"^    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: (?P<binary>[a-z-]+)\n"
    r"    Properties:\n", re.M)
GLOBAL_CODE = re.compile(r"^    # One workspace; each function's Metadata names its binary.*\n    CodeUri: \.\n", re.M)
ARCHITECTURE = re.compile(r"^  Architecture:\n    Type: String\n    Default: arm64\n    AllowedValues: \[arm64, x86_64\]\n"
                          r"    Description: .*\n", re.M)
SAR_NAME = "    Name: videosdk-token-server\n"


def version():
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def one(pattern, text, replacement, what):
    out, count = pattern.subn(replacement, text)
    if count != 1:
        sys.exit(f"release: expected one {what} in template.yaml, found {count}")
    return out


def bundle_template(source, release):
    """The source template with each function's code a zip beside it, arm64 only."""
    binaries = FUNCTION_BUILD.findall(source)
    text = FUNCTION_BUILD.sub(lambda m: f"    Properties:\n      CodeUri: {m['binary']}.zip\n", source)
    if "BuildMethod" in text or not binaries:
        sys.exit("release: a function's Metadata is not in the form tools/release.py rewrites")
    text = one(GLOBAL_CODE, text, "", "Globals CodeUri")
    text = one(ARCHITECTURE, text,
               "  Architecture:\n    Type: String\n    Default: arm64\n    AllowedValues: [arm64]\n"
               "    Description: Lambda architecture; this bundle's bootstraps are built for arm64.\n",
               "Architecture parameter")
    if text.count(SAR_NAME) != 1:
        sys.exit("release: the AWS::ServerlessRepo::Application Name is missing")
    text = text.replace(SAR_NAME, f"{SAR_NAME}    SemanticVersion: {release}\n")
    return text, binaries


def bundle_samconfig(source):
    """samconfig.toml without the sections that need the sources (build, sync), without the
    repository's example parameter values (placeholders a guided deploy would offer as defaults)
    and with a comment for the bundle."""
    sections = re.split(r"(?m)^(?=\[)", source)
    kept = [s for s in sections[1:] if not s.startswith(("[default.build.", "[default.sync."))]
    text = re.sub(r"(?ms)^parameter_overrides = \[.*?^\]\n", "", "".join(kept))
    header = ("# sam deploy's defaults for this bundle (DEPLOY.md). `sam deploy --guided` asks for the\n"
              "# parameters and saves your answers here; later deploys: `sam deploy`.\nversion = 0.1\n\n")
    return header + text


def main():
    built = Path(sys.argv[1])
    dist = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "dist"
    release = version()
    out = dist / f"{NAME}-{release}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    template, binaries = bundle_template((ROOT / "template.yaml").read_text(), release)
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))
    if sorted(binaries) != functions:
        sys.exit(f"release: the template's functions {sorted(binaries)} are not the crates' {functions}")
    for binary in binaries:
        zipped = built / "lambda" / binary / "bootstrap.zip"
        if not zipped.exists():
            sys.exit(f"release: {zipped} is missing (cargo lambda build --release --arm64 --output-format zip)")
        with zipfile.ZipFile(zipped) as z:
            if z.namelist() != ["bootstrap"]:
                sys.exit(f"release: {zipped} holds {z.namelist()}, not just bootstrap")
        shutil.copyfile(zipped, out / f"{binary}.zip")
    (out / "template.yaml").write_text(template)
    (out / "samconfig.toml").write_text(bundle_samconfig((ROOT / "samconfig.toml").read_text()))
    (out / "DEPLOY.md").write_text((ROOT / "tools" / "release" / "DEPLOY.md").read_text().replace("@VERSION@", release))
    shutil.copyfile(ROOT / "README.md", out / "README.md")
    shutil.copyfile(ROOT / "LICENSE", out / "LICENSE")

    files = sorted(p.name for p in out.iterdir())
    sums = "".join(f"{hashlib.sha256((out / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    (out / "SHA256SUMS").write_text(sums)

    archive = dist / f"{NAME}-{release}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(out.iterdir()):
            z.write(f, f"{out.name}/{f.name}")
    size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"release: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
          f"({len(binaries)} functions, {size:.1f} MiB) and {archive.name}")


if __name__ == "__main__":
    main()
