"""The reference tables in docs/ against the code they describe: every template parameter and
every environment variable the functions read is documented, and no table names one that does
not exist; every relative link resolves. (The commands the docs print are run against `make dev`
by tests/e2e/test_docs_run.py.)"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "SECURITY.md", ROOT / "BENCHMARKS.md", *DOCS]


class Loader(yaml.SafeLoader):
    pass


Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def first_column(path):
    """The backticked names in the first column of every table row in `path`."""
    names = set()
    for line in path.read_text().splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            cell = line.split("|")[1]
            names.update(re.findall(r"`([^`]+)`", cell))
    return names


def variables_read():
    """What the functions read from the environment: `shared::config` and the few other readers."""
    config = (ROOT / "shared/src/config.rs").read_text()
    names = set(re.findall(r'(?:get|lookup)\("([A-Z][A-Z0-9_]+)"\)', config))
    names |= set(re.findall(r'\(&get, "([A-Z][A-Z0-9_]+)"', config))
    names |= set(re.findall(r'OptIn::\w+ => "([A-Z][A-Z0-9_]+)"', config))
    for source in (ROOT / "shared/src").rglob("*.rs"):
        names |= set(re.findall(r'_VAR: &str = "([A-Z][A-Z0-9_]+)"', source.read_text()))
    return names


def test_every_template_parameter_is_in_the_deploy_table_and_no_other():
    parameters = set(yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)["Parameters"])
    documented = {n for n in first_column(ROOT / "docs" / "deploy.md") if re.fullmatch(r"[A-Z][A-Za-z0-9]+", n)}
    assert parameters - documented == set(), "parameters missing from docs/deploy.md's table"
    assert documented - parameters == set(), "docs/deploy.md's table names parameters the template does not have"


def test_every_variable_the_functions_read_is_in_the_configuration_table_and_no_other():
    read = variables_read()
    assert {"VIDEOSDK_SECRET_ID", "BUDGETS", "TOKEN_CALLER_AUTH", "DEV_REQUEST_SECRET", "ANONYMOUS_AGENT_DISPATCH",
            "EXTRA_CA_CERTS_FILE"} <= read, "the scan of shared/src misses variables"
    documented = set()
    for name in first_column(ROOT / "docs" / "configuration.md"):
        documented.update(n.strip() for n in name.split(","))
    documented = {n for n in documented if re.fullmatch(r"[A-Z][A-Z0-9_]+", n)}
    assert read - documented == set(), "variables missing from docs/configuration.md"
    assert documented - read == set(), "docs/configuration.md names variables the functions do not read"


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "```mermaid" in readme
    assert "make dev" in readme and "make test" in readme
    rust_version = re.search(r'rust-version = "([0-9.]+)"', (ROOT / "Cargo.toml").read_text()).group(1)
    assert f"Rust ≥ {rust_version}" in readme or f"Rust {rust_version}" in readme, "the MSRV, as Cargo.toml has it"
    for page in DOCS:
        assert f"docs/{page.name}" in readme, f"the README links {page.name}"


def test_runnable_blocks_hold_no_placeholders_and_set_up_their_path():
    """```sh blocks run as printed (tests/e2e/test_docs_run.py): no <placeholder>, and cargo lambda
    only after the block puts the venv on PATH."""
    for page in PAGES:
        for info, text in re.findall(r"^```(sh[^\n]*)\n(.*?)^```", page.read_text(), re.M | re.S):
            if info.split()[0] != "sh":
                continue
            assert not re.search(r"<[A-Za-z][^<>]*>", text), f"{page.name}: a placeholder in\n{text}"
            if "cargo lambda" in text:
                assert text.index("export PATH=$PWD/.venv/bin:$PATH") < text.index("cargo lambda"), page.name


def test_make_dev_runs_on_macos_bash_3_2():
    """tools/dev.sh uses nothing newer than bash 3.2 (macOS's): no negative array indices,
    associative arrays, mapfile/readarray, case-changing expansions, `&>>` or `|&`, `wait -n`."""
    script = (ROOT / "tools" / "dev.sh").read_text()
    code = "\n".join(line.split(" #")[0] for line in script.splitlines() if not line.lstrip().startswith("#"))
    for pattern in [r"\[\s*-\d+\s*\]", r"declare -A|local -A|typeset -A", r"\bmapfile\b|\breadarray\b",
                    r"\$\{\w+(\^\^?|,,?)\}", r"&>>", r"\|&", r"wait -n", r"\bcoproc\b"]:
        assert not re.search(pattern, code), pattern
