# campaign-lifecycle — build, run and check. Nothing needs installing by hand: the Python
# tools (moto_server, cfn-lint) are pinned in infra/requirements.txt and installed into
# infra/.venv on first use. CARGO_TARGET_DIR defaults outside the clone so reruns on the same
# machine reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/campaign-lifecycle/target

VENV := infra/.venv

.PHONY: local invoke test crash-test chaos bench mutants emulator emulator-stop venv lint-template fmt-check clippy ci

## local: run the whole service locally (emulator, resources, API on :3000, schedules, queues);
## the API wants SigV4 signatures by the keys it creates once in .local/credentials
## (AWS_SHARED_CREDENTIALS_FILE=.local/credentials AWS_PROFILE=campaign-admin|campaign-operator)
local: emulator
	cargo run -p local-stack --bin local

## invoke: call a function of the local stack directly and print its JSON answer, e.g. a
## dry-run recovery report: make -s invoke EVENT='{"dryRun":true}'
FUNCTION ?= SweeperFunction
EVENT ?= {}
invoke:
	@bash infra/emulator.sh start >&2
	@cargo run -q -p local-stack --bin invoke -- $(FUNCTION) '$(EVENT)'

## test: the emulator patches' tests, unit tests, integration tests against the local emulator
## (started if needed), a short crash-injection run (every crash point once) and a short chaos
## run (100 timers)
test: emulator venv
	$(VENV)/bin/python -m unittest infra/moto_server_test.py
	cargo test --workspace --all-targets
	$(MAKE) --no-print-directory crash-test RUNS=6
	$(MAKE) --no-print-directory chaos TIMERS=100 SPREAD=15

## crash-test: kill the local service RUNS times under load and check nothing is lost or doubled.
## DEFAULTS=1: one run with the template's default settings instead (CAMPAIGNS campaigns, KILLS
## SIGKILLs; a few minutes), reporting recovery from each campaign's last scheduled end
RUNS ?= 20
CAMPAIGNS ?= 30
KILLS ?= 4
crash-test: emulator
	cargo build -q -p local-stack --bins
ifeq ($(DEFAULTS),1)
	cargo run -q -p local-stack --bin crash_test -- --defaults --campaigns $(CAMPAIGNS) --kills $(KILLS)
else
	cargo run -q -p local-stack --bin crash_test -- --runs $(RUNS)
endif

## chaos: the local service with RATE of every AWS call failing (throttle, 500, lost answer)
## and of its Slack and webhook receivers' answers; TIMERS timers due over SPREAD seconds must
## all fire once, and the alerts it raises reach every routed channel (no unexplained resend)
TIMERS ?= 1000
RATE ?= 0.1
SPREAD ?= 120
chaos: emulator
	cargo build -q -p local-stack --bins
	cargo run -q -p local-stack --bin chaos -- --timers $(TIMERS) --rate $(RATE) --spread-seconds $(SPREAD)

## bench: benchmarks on the local stack, results in docs/benchmarks.md: the timer path (default,
## BENCH_ARGS="--timers 1000 --window 120"), a bulk email send (BENCH_ARGS="--scenario bulk
## --recipients 10000 --send-rate 2000"), the timers during a bulk send (BENCH_ARGS="--scenario mixed")
## or many recurring campaigns (BENCH_ARGS="--scenario series --series 1000 --period 10")
bench: emulator
	cargo run --release -p local-stack --bin bench -- $(BENCH_ARGS)

## mutants: mutation testing of the core crate (lifecycle-domain) against its own unit tests, in a
## copy of the tree with its own target dir; installs the pinned cargo-mutants into infra/.tools
## when missing or of another version (built in a temporary dir, not the shared one); the report
## is in .local/mutants.out (missed.txt, caught.txt, unviable.txt, timeout.txt, outcomes.json)
MUTANTS_VERSION := 27.1.0
TOOLS := infra/.tools
mutants:
	@$(TOOLS)/bin/cargo-mutants mutants --version 2>/dev/null | grep -qx 'cargo-mutants $(MUTANTS_VERSION)' || \
		env -u CARGO_TARGET_DIR cargo install --locked --force cargo-mutants@$(MUTANTS_VERSION) --root $(TOOLS)
	mkdir -p .local
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)-mutants $(TOOLS)/bin/cargo-mutants mutants \
		-p lifecycle-domain --test-package lifecycle-domain --output .local $(MUTANTS_ARGS)

## emulator: install the pinned tools and start moto_server on 127.0.0.1:4566 (unless AWS_ENDPOINT_URL answers)
emulator:
	bash infra/emulator.sh start

emulator-stop:
	bash infra/emulator.sh stop

venv:
	bash infra/venv.sh

## lint-template: cfn-lint template.yaml (errors, warnings and informational findings fail)
lint-template: venv
	$(VENV)/bin/cfn-lint template.yaml

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## ci: what .ci/run checks
ci: test fmt-check clippy lint-template
