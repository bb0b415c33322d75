# The two commands a new user needs:
#   make dev   serve every function locally (see README)
#   make test  install the tools, then run every check and test
# Both install what they need into .venv/ (pinned in tools/requirements.txt).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
REQS_HASH := $(shell sha256sum tools/requirements.txt | cut -c1-12)
VENV_STAMP := $(VENV)/.installed-$(REQS_HASH)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test venv lint unit release e2e

test: venv lint unit release e2e

venv: $(VENV_STAMP)

$(VENV_STAMP): tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit: venv
	cargo test --workspace --locked

release:
	cargo build --workspace --release --locked --bins

e2e: venv release
	$(VENV)/bin/pytest tests/e2e -q
