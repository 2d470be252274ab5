# animecam: `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := demo
CARGO ?= cargo
RELEASE_DIR := $(CURDIR)/target/release
# Where GStreamer finds the plugin we build (see README: "Using the plugin").
export GST_PLUGIN_PATH := $(RELEASE_DIR)$(if $(GST_PLUGIN_PATH),:$(GST_PLUGIN_PATH))

.PHONY: setup build test demo lint clean-cache

## setup: Debian packages (as root), .venv with ONNX Runtime, registry models and media
setup:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)"; exit 1; }
	@scripts/setup.sh all

## build: release build of the library, the plugin and the CLI
build: setup
	$(CARGO) build --release --workspace

## lint: formatting and clippy, warnings are errors
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

## test: lint, then every test of the workspace (release, sharing the demo's build)
test: lint build
	$(CARGO) test --release --workspace

## demo: the main job on the bundled default
demo: build
	@scripts/demo.sh

clean-cache:
	rm -rf .cache
