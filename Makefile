# Snapkeep: `make demo` runs it, `make test` checks everything. Both install what is missing.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(shell go env GOPATH 2>/dev/null || echo $(HOME)/go)/bin:$(PATH)
export LEPTOS_SITE_ROOT := $(CURDIR)/target/site
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

BIN := target/release/snapkeep

.PHONY: demo build test lint unit e2e bench tools clean

## Build and run Snapkeep on its embedded default: a real Cassandra dev node under
## ./snapkeep-data/node1 with the `shop` demo data, and the console on http://127.0.0.1:3000.
demo: build
	server/scripts/ensure-tools.sh cassandra
	$(BIN) demo

## Release build: server binary and the optimised WebAssembly UI.
build: tools
	cargo leptos build --release

tools:
	server/scripts/ensure-tools.sh build

## Every check CI runs: format, lints, release build, unit and integration tests (release
## profile, so they reuse the release build's dependencies), browser tests.
test:
	server/scripts/ensure-tools.sh test
	$(MAKE) --no-print-directory lint build unit e2e

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace --release

e2e:
	cd end2end && npx playwright test

## Benchmarks (figures go into README.md).
bench: build
	server/benches/run.sh

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
