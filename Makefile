# campaign-lifecycle — build, run and check. Nothing needs installing by hand: the Python
# tools (moto_server, cfn-lint) are pinned in infra/requirements.txt and installed into
# infra/.venv on first use. CARGO_TARGET_DIR defaults outside the clone so reruns on the same
# machine reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/campaign-lifecycle/target

VENV := infra/.venv

.PHONY: local invoke test crash-test chaos bench sizes cost mutants emulator emulator-stop venv lint-template validate-template package fmt-check clippy ci

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
	$(MAKE) --no-print-directory crash-test RUNS=6 RECORD=0
	$(MAKE) --no-print-directory chaos TIMERS=100 SPREAD=15

## crash-test: kill the local service RUNS times under load and check nothing is lost or doubled.
## DEFAULTS=1: one run with the template's default settings instead (CAMPAIGNS campaigns, KILLS
## SIGKILLs; a few minutes), reporting recovery from each campaign's last scheduled end.
## RECORD=1 (the default) stores the summary, every run's recovery time included, in
## bench/crash-results/ and redraws docs/plots/crash-recovery.svg; RECORD=0 (make test's short
## run) leaves it in .local/ and the tree untouched
RUNS ?= 20
CAMPAIGNS ?= 30
KILLS ?= 4
RECORD ?= 1
CRASH_RECORD := $(if $(filter 1,$(RECORD)),--record)
crash-test: emulator
	cargo build -q -p local-stack --bins
ifeq ($(DEFAULTS),1)
	cargo run -q -p local-stack --bin crash_test -- --defaults --campaigns $(CAMPAIGNS) --kills $(KILLS) $(CRASH_RECORD)
else
	cargo run -q -p local-stack --bin crash_test -- --runs $(RUNS) $(CRASH_RECORD)
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

## bench: benchmarks on the local stack, results in docs/benchmarks.md and its figures in
## docs/plots/: the timer path (default, BENCH_ARGS="--timers 1000 --window 120"), a bulk email
## send (BENCH_ARGS="--scenario bulk --recipients 10000 --send-rate 2000"), the timers during a
## bulk send (BENCH_ARGS="--scenario mixed") or many recurring campaigns
## (BENCH_ARGS="--scenario series --series 1000 --period 10"); each run also regenerates
## docs/cost.md
bench: emulator
	cargo run --release -p local-stack --bin bench -- $(BENCH_ARGS)

## sizes: every function built as `sam build` builds it (cargo-lambda's release settings, for
## this machine's x86_64): its bootstrap and zip sizes, cold init and peak memory on a typical
## event over STARTS starts against a Runtime API stub, into docs/benchmarks.md ("Binaries"),
## with the sizes of make package's arm64 build (.aws-sam/build) when there is one
STARTS ?= 21
sizes: emulator
	cargo run -p local-stack --bin bench -- --scenario init --starts $(STARTS)

## cost: regenerate docs/cost.md (dollars per million timers, recipients and recurring runs, the
## idle stack a month, the alternatives) from the latest bench/results and template.yaml at the
## list prices of infra/local/src/bin/bench/prices.rs; runs no benchmark
cost:
	cargo run -q -p local-stack --bin bench -- --cost-only

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

## validate-template: `sam validate --lint` with the pinned SAM CLI (infra/sam-requirements.txt,
## installed into infra/.sam-venv on first use; no AWS credentials needed)
SAM_VENV := infra/.sam-venv
validate-template:
	@bash infra/venv.sh $(SAM_VENV) infra/sam-requirements.txt
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml --region us-east-1

## package: build every function for arm64 as `sam deploy` ships them (.aws-sam/build), with the
## pinned SAM CLI and cargo-lambda (infra/package-requirements.txt, installed into
## infra/.package-venv on first use: about 800 MB, which is why neither `make test` nor CI uses
## it), then check the build against template.yaml (every function, its binary, arm64)
PACKAGE_VENV := infra/.package-venv
package:
	@bash infra/venv.sh $(PACKAGE_VENV) infra/package-requirements.txt
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(PACKAGE_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build
	cargo run -q -p local-stack --bin package_check

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## ci: what .ci/run checks
ci: test fmt-check clippy lint-template validate-template
