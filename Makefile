# raftchat: `make serve` and `make test` set up whatever is missing, then run.
# Each install step is skipped when the tool is already there at the right version.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)

TRUNK_VERSION := 0.21.14
# The wasm-bindgen CLI must match the library version in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' Cargo.lock)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: serve test tools wasm-target trunk wasm-bindgen browser e2e-deps \
        test-core test-components build-wasm build-release e2e bench bugs campaign-long \
        user-actions-long

serve: tools
	trunk serve

test: tools browser e2e-deps
	cargo fmt --all -- --check
	$(MAKE) --no-print-directory test-core build-wasm test-components build-release e2e

test-core:
	cargo test --release -p raftchat-core --features cli -- --show-output

build-wasm:
	cargo build -p raftchat-core --target wasm32-unknown-unknown

# Component and reducer tests in headless Chromium (wasm-bindgen-test).
test-components:
	CHROMEDRIVER=/usr/bin/chromedriver \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test -p raftchat-app --target wasm32-unknown-unknown --test components --test storage -- --nocapture

# wasm-opt (npm `binaryen`, installed with the test dependencies) must be on PATH.
build-release: e2e-deps
	PATH="$(CURDIR)/tests/node_modules/.bin:$$PATH" trunk build --release
	@for wasm in dist/raftchat-app-*_bg.wasm dist/raftchat-worker_bg.wasm; do \
	  echo "$$wasm: $$(stat -c %s $$wasm) bytes, $$(gzip -9c $$wasm | wc -c) bytes gzipped"; done

e2e:
	cd tests && CHROMIUM=$(CHROMIUM) node --test e2e/

# ----- set-up -------------------------------------------------------------------

tools: wasm-target trunk wasm-bindgen

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown

trunk:
	@if trunk --version 2>/dev/null | grep -qx 'trunk $(TRUNK_VERSION)'; then :; else \
	  echo "installing trunk $(TRUNK_VERSION) (about 20 minutes, once)"; \
	  cargo install trunk --version $(TRUNK_VERSION) --locked; fi

# Without --locked: the CLI's own lockfile names a crate version the registry lacks.
wasm-bindgen:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "no wasm-bindgen in Cargo.lock"; exit 1; }
	@if wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)'; then :; else \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

browser:
	@if [ -x $(CHROMIUM) ] && command -v chromedriver >/dev/null; then :; else \
	  echo "installing Debian's chromium and chromium-driver"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver; fi

e2e-deps:
	@if [ -d tests/node_modules/playwright-core ] && [ -x tests/node_modules/.bin/wasm-opt ]; then :; else \
	  cd tests && npm ci --no-audit --no-fund; fi

# ----- more ---------------------------------------------------------------------

bench:
	cargo run --release -p raftchat-core --features cli --bin raftchat-sim -- --bench --bench-seconds 60

# Turn each bug switch on in turn (every cluster the tests build) and show which tests catch it.
bugs:
	scripts/bugs.sh

# The fault campaign's long mode: 10,000 seeds.
campaign-long:
	RAFTCHAT_SEEDS=10000 cargo test --release -p raftchat-core --test campaign -- --nocapture

# The user-commands test's long mode: 10,000 seeds (every page command at random).
user-actions-long:
	RAFTCHAT_SEEDS=10000 cargo test --release -p raftchat-core --test user_actions -- --nocapture
