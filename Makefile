# animecam: `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := demo
CARGO ?= cargo
RELEASE_DIR := $(CURDIR)/target/release
# Where GStreamer finds the plugin we build (see README: "Using the plugin").
export GST_PLUGIN_PATH := $(RELEASE_DIR)$(if $(GST_PLUGIN_PATH),:$(GST_PLUGIN_PATH))

.PHONY: setup build test demo lint clean-cache models-venv bench-venv bench face-mesh tiny-models random-models test-models

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

## test: lint, then every test of the workspace (release, sharing the demo's build), then the
## model toolchain's tests where PyTorch is installed
test: lint build
	$(CARGO) test --release --workspace
	.venv/bin/python -m pytest -q -p no:cacheprovider models/tests_mesh
	@$(MAKE) --no-print-directory test-models

## models-venv: the exporters' dependencies (PyTorch is ~3 GB); only for converting checkpoints
models-venv: setup
	.venv/bin/pip install -r models/requirements.txt

## bench-venv: what the bench's Python reference loop needs (no PyTorch)
bench-venv: setup
	.venv/bin/pip install -q --disable-pip-version-check -r models/requirements-bench.txt

## bench: per-stage cost and the Python reference ratio on full-size random-weight graphs (made
## once by the exporters, which need PyTorch: make models-venv random-models), into out/bench.json
bench: build bench-venv
	@test -f .cache/models/random/manifest.json || $(MAKE) --no-print-directory models-venv random-models
	@mkdir -p out
	target/release/animecam bench --json out/bench.json

## face-mesh: MediaPipe's face mesh converted to ONNX into models/face_mesh (verified against
## the TFLite interpreter on real faces)
face-mesh: setup
	@scripts/setup.sh face-mesh

## tiny-models: regenerate models/tiny (committed) byte for byte
tiny-models:
	PYTHONPATH=models .venv/bin/python -m animecam_models tiny

## random-models: full-size random-weight exports of every graph into .cache/models/random
random-models:
	PYTHONPATH=models .venv/bin/python -m animecam_models random

test-models:
	@if .venv/bin/python -c "import pytest, torch" 2>/dev/null; then \
		.venv/bin/python -m pytest -q models/tests; \
	else \
		echo "model toolchain tests skipped: PyTorch is not in .venv (make models-venv)"; \
	fi

## demo: the main job on the bundled default
demo: build
	@scripts/demo.sh

clean-cache:
	rm -rf .cache
