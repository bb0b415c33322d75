# The two commands a new user needs:
#   make dev   serve every function locally (docs/local-development.md; LAN=1 for devices)
#   make test  install the tools, then run every check and test (CONTRIBUTING.md)
# Both install what they need into .venv/ (pinned in tools/requirements.txt).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
REQS_HASH := $(shell sha256sum tools/requirements.txt | cut -c1-12)
VENV_STAMP := $(VENV)/.installed-$(REQS_HASH)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# sam build (cargo-lambda) gets its own target dir: sharing one with plain cargo forces rebuilds.
SAM_TARGET_DIR := $(CURDIR)/target/lambda-build
# Built here for x86_64 so the end-to-end tests can run the very bootstraps SAM packages;
# deploys default to arm64 (docs/deploy.md).
SAM_ARCH ?= x86_64

.PHONY: dev dev-tools deploy-tools release test bench bench-smoke bench-build fuzz soak venv browser lint unit template sam-build e2e

dev: dev-tools
	tools/dev.sh

# Each step in order, then a table of their wall times (tools/steps.py). One pass over a fresh
# tree: without incremental compilation's caches (gigabytes of target/debug/incremental that
# only an edit-and-rebuild loop uses, as `make dev` and `make unit` keep).
TEST_STEPS := venv browser lint unit template sam-build release bench-smoke e2e
test:
	@CARGO_INCREMENTAL=0 tools/steps.py $(TEST_STEPS)

venv: $(VENV_STAMP)

# `make dev` needs only cargo-lambda (its pinned version from tools/requirements.txt), not the
# test tools, nor zig (its one dependency, for cross-compiling): a fresh clone serves sooner.
DEV_STAMP := $(VENV)/.dev-installed-$(REQS_HASH)
dev-tools: $(DEV_STAMP)

$(DEV_STAMP): tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps "$$(grep '^cargo-lambda==' tools/requirements.txt)"
	rm -f $(VENV)/.dev-installed-*
	touch $@

# Deploying from source needs SAM CLI and cargo-lambda (their pinned versions), not the test stack:
# `make deploy-tools`, then `.venv/bin/sam build` (docs/deploy.md).
DEPLOY_STAMP := $(VENV)/.deploy-installed-$(REQS_HASH)
deploy-tools: $(DEPLOY_STAMP)

$(DEPLOY_STAMP): tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "$$(grep '^cargo-lambda==' tools/requirements.txt)" "$$(grep '^aws-sam-cli==' tools/requirements.txt)"
	rm -f $(VENV)/.deploy-installed-*
	touch $@

$(VENV_STAMP): tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

LINT_VENV := .venv-lint
LINT_STAMP := $(LINT_VENV)/.installed-$(shell sha256sum tools/requirements-lint.txt | cut -c1-12)
$(LINT_STAMP): tools/requirements-lint.txt
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-lint.txt
	rm -f $(LINT_VENV)/.installed-*
	touch $@

# Debian's Chromium for the browser test (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

lint: $(LINT_STAMP)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	# The GitHub workflows: their schema, and all of zizmor's audits (the auditor persona: pinned actions and
	# images, permissions, injection, concurrency).
	$(LINT_VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(LINT_VENV)/bin/zizmor --offline --persona auditor .github/workflows/

unit: venv
	cargo test --workspace --locked
	# vendor/lambda_runtime == the crates.io crate (checksum pinned) + vendor/lambda_runtime-1.5.0.patch
	$(VENV)/bin/pytest tests/tools -q

template: venv
	sam validate --lint
	cfn-lint template.yaml
	$(VENV)/bin/pytest tests/template -q

sam-build: venv
	# Every function in one cargo run first: their LTO links run side by side, where sam build
	# links one function after the other. sam build's own `cargo lambda build --release --bin <name>`
	# then finds each bootstrap fresh (same command, features and target dir) and only copies it.
	CARGO_TARGET_DIR=$(SAM_TARGET_DIR) cargo lambda build --release --locked $(if $(filter arm64,$(SAM_ARCH)),--arm64)
	# --no-cached: SAM's cache hashes the whole CodeUri (the repository, target/ included: gigabytes)
	# once per function; cargo's own target dir is the cache that matters.
	CARGO_TARGET_DIR=$(SAM_TARGET_DIR) sam build --no-cached --parameter-overrides Architecture=$(SAM_ARCH)
	for f in GetToken CreateMeeting ValidateMeeting CreateLivestream EndLivestream VideosdkWebhook StartRecording EndRecording ListRecordings EndMeeting AgentToken DispatchAgent StartTranscription EndTranscription; do \
	  test -x .aws-sam/build/$${f}Function/bootstrap || { echo "missing bootstrap for $$f"; exit 1; }; \
	done

e2e: venv
	# Builds target/debug/videosdk-standin with the same features as `make unit` (a no-op after it).
	cargo test --workspace --locked --no-run --quiet
	$(VENV)/bin/pytest tests/e2e -q --durations=12

# The release bundle, dist/videosdk-token-server-<version>/ (tools/release.py): every function
# built for arm64 (deploys' default architecture) and zipped, with a template that points at the
# zips, so that `sam deploy` needs no Rust. Built with Debian's Rust compiler (the aarch64 standard
# library is not available through rustup here) and cargo-lambda's zig linker; the e2e tests check
# the bundle and run its get-token under qemu-user. Its own target dir: another compiler.
ARM64_TARGET_DIR := $(CURDIR)/target/arm64
release: venv
	tools/arm64-toolchain.sh
	RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=$(ARM64_TARGET_DIR) cargo lambda build --release --arm64 --locked --output-format zip
	$(VENV)/bin/python tools/release.py $(ARM64_TARGET_DIR)

# The functions against the floor, the Secrets Manager round trip and VideoSDK's Node example, in
# one run, as ratios against the targets (BENCHMARKS.md); fails when a target is missed.
# `make test` runs `bench-smoke`: a few iterations of the same, no targets checked.
bench: bench-build
	cargo bench --quiet --locked -p bench-probes --bench micro -- --warm-up-time 1 --measurement-time 3
	$(VENV)/bin/python tools/bench.py --json target/bench.json

bench-smoke: bench-build
	cargo test --quiet --locked -p bench-probes --benches
	$(VENV)/bin/python tools/bench.py --smoke

# The floor, the probes and the VideoSDK stand-in, built as sam build builds the functions (same
# target dir and profile: the stand-in's own time is inside create-meeting's cold start).
bench-build: venv sam-build bench/node/node_modules/.package-lock.json
	CARGO_TARGET_DIR=$(SAM_TARGET_DIR) cargo lambda build --release --locked -p bench-floor -p bench-probes -p videosdk-standin

bench/node/node_modules/.package-lock.json: bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error

# The long fuzz run: every function's fuzz target for FUZZ_SECONDS (default 600) each, side by
# side, then the claims builder (3 million cases). `make test` runs a short version of each.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := get-token create-meeting validate-meeting create-livestream end-livestream videosdk-webhook \
  start-recording end-recording list-recordings end-meeting agent-token dispatch-agent start-transcription \
  end-transcription
fuzz: venv
	cargo test --workspace --locked --no-run --quiet
	mkdir -p target/fuzz
	for f in $(FUZZ_TARGETS); do \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --locked --quiet -p $$f --test fuzz -- --nocapture \
	    > target/fuzz/$$f.log 2>&1 & \
	done; \
	status=0; for job in $$(jobs -p); do wait $$job || status=1; done; \
	grep -h "^fuzz " target/fuzz/*.log; exit $$status
	start=$$(date +%s); PROPTEST_CASES=3000000 cargo test --locked --quiet -p shared --lib \
	  the_builder_never_panics; echo "fuzz claims builder: 3000000 cases in $$(( $$(date +%s) - start )) s"

# The soak: 100,000 get-token and 10,000 create-meeting invocations of the release bootstraps
# through the Lambda runtime emulator (cargo lambda watch); errors and RSS growth printed and
# checked. `make test` runs a short version.
SOAK_GET_TOKEN ?= 100000
SOAK_CREATE_MEETING ?= 10000
soak: venv sam-build
	cargo build --quiet -p videosdk-standin
	$(VENV)/bin/python tools/soak.py --get-token $(SOAK_GET_TOKEN) --create-meeting $(SOAK_CREATE_MEETING)
