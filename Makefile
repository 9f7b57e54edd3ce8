# campaign-lifecycle — build targets. CARGO_TARGET_DIR defaults outside the clone so reruns
# on the same machine (and CI right after a session) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/campaign-lifecycle/target

.PHONY: test fmt-check clippy ci

## test: every test of the workspace (today: unit tests of the domain, keys and item mapping)
test:
	cargo test --workspace --all-targets

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

ci: test fmt-check clippy
