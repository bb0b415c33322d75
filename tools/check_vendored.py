#!/usr/bin/env python3
"""Check that vendor/lambda_runtime is the published crate plus vendor/lambda_runtime-1.5.0.patch.

A `[patch.crates-io]` path dependency carries no checksum, so nothing else would notice an edit
to the vendored tree that is not the documented one. This script:

1. takes lambda_runtime-<version>.crate from cargo's registry cache, or downloads it from
   crates.io by name;
2. requires its SHA-256 to be CHECKSUM (the checksum crates.io's index gives that version);
3. unpacks it, leaves out what the vendored copy leaves out (LEFT_OUT), applies the patch;
4. requires the result and the vendored tree to hold the same files with the same bytes.

Usage: tools/check_vendored.py [--vendored DIR] [--patch FILE]   (exit 1 on any difference)
"""

import argparse
import glob
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

CRATE = "lambda_runtime"
VERSION = "1.5.0"
# crates.io's index: https://index.crates.io/la/mb/lambda_runtime, "vers":"1.5.0", "cksum".
CHECKSUM = "299ff04ffc8ff30a26f5a45fbad8f04dbaf9f05ba035e220045754955138c19c"
# Published files the vendored copy does not keep (tests and packaging metadata).
LEFT_OUT = {".cargo_vcs_info.json", "CHANGELOG.md", "Cargo.lock", "Cargo.toml.orig", "tests"}
# Files the vendored copy adds: the account of the change.
ADDED = {"PATCHED.md"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def published_crate():
    name = f"{CRATE}-{VERSION}.crate"
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    for path in sorted(glob.glob(os.path.join(home, "registry", "cache", "*", name))):
        with open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() == CHECKSUM:
            return data
    url = f"https://static.crates.io/crates/{CRATE}/{name}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def files(top):
    found = {}
    for dirpath, _, names in os.walk(top):
        for n in names:
            path = os.path.join(dirpath, n)
            with open(path, "rb") as f:
                found[os.path.relpath(path, top)] = f.read()
    return found


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--vendored", default=os.path.join(ROOT, "vendor", CRATE))
    args.add_argument(
        "--patch", default=os.path.join(ROOT, "vendor", f"{CRATE}-{VERSION}.patch")
    )
    opts = args.parse_args()

    data = published_crate()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKSUM:
        sys.exit(f"{CRATE} {VERSION} from crates.io has SHA-256 {digest}, expected {CHECKSUM}")

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        expected = os.path.join(tmp, f"{CRATE}-{VERSION}")
        for name in LEFT_OUT:
            path = os.path.join(expected, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
        applied = subprocess.run(
            ["git", "apply", "--unsafe-paths", "--directory", expected, "-p1",
             os.path.abspath(opts.patch)],
            cwd=tmp, capture_output=True, text=True,
        )
        if applied.returncode != 0:
            sys.exit(f"{opts.patch} does not apply to the published crate:\n{applied.stderr}")
        want = files(expected)

    have = files(opts.vendored)
    problems = []
    for name in sorted(set(want) | set(have)):
        if name in ADDED and name not in want:
            continue
        if name not in have:
            problems.append(f"missing from {opts.vendored}: {name}")
        elif name not in want:
            problems.append(f"not in the published crate or the patch: {name}")
        elif have[name] != want[name]:
            problems.append(f"differs from the published crate plus the patch: {name}")
    for name in sorted(ADDED - set(have)):
        problems.append(f"missing from {opts.vendored}: {name}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"{opts.vendored}: {CRATE} {VERSION} (SHA-256 {CHECKSUM[:16]}…) plus "
          f"{os.path.basename(opts.patch)}, {len(have)} files")


if __name__ == "__main__":
    main()
