"""tools/check_vendored.py: the vendored lambda_runtime is the published crate plus the patch."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "tools", "check_vendored.py")
VENDORED = os.path.join(ROOT, "vendor", "lambda_runtime")


def check(vendored):
    return subprocess.run(
        [sys.executable, CHECK, "--vendored", vendored], capture_output=True, text=True
    )


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "lambda_runtime"
    shutil.copytree(VENDORED, target)
    return target


def test_the_vendored_tree_is_the_published_crate_plus_the_patch():
    result = check(VENDORED)
    assert result.returncode == 0, result.stderr
    assert "lambda_runtime 1.5.0" in result.stdout


def test_an_edit_outside_the_patch_is_found(copy):
    lib = copy / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "\n// an unreviewed change\n")
    result = check(str(copy))
    assert result.returncode == 1
    assert "differs from the published crate plus the patch: src/lib.rs" in result.stderr


def test_an_added_file_is_found(copy):
    (copy / "src" / "extra.rs").write_text("pub fn extra() {}\n")
    result = check(str(copy))
    assert result.returncode == 1
    assert "not in the published crate or the patch: src/extra.rs" in result.stderr


def test_the_change_itself_is_required(copy):
    runtime = copy / "src" / "runtime.rs"
    text = runtime.read_text()
    assert "fn amzn_trace_env(_ctx: &Context) {}" in text
    runtime.write_text(text.replace("(_ctx: &Context) {}", "(_ctx: &Context) { }"))
    result = check(str(copy))
    assert result.returncode == 1
    assert "src/runtime.rs" in result.stderr


def test_a_missing_file_is_found(copy):
    os.remove(copy / "src" / "streaming.rs")
    result = check(str(copy))
    assert result.returncode == 1
    assert "missing from" in result.stderr and "src/streaming.rs" in result.stderr
