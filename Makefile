# animecam: `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := demo
CARGO ?= cargo
RELEASE_DIR := $(CURDIR)/target/release
# Where GStreamer finds the plugin we build (see README: "Using the plugin").
export GST_PLUGIN_PATH := $(RELEASE_DIR)$(if $(GST_PLUGIN_PATH),:$(GST_PLUGIN_PATH))

.PHONY: setup build test demo desktop-entry lint clean-cache models-venv bench-venv bench face-mesh tiny-models random-models int8-models test-models import-fixtures

## setup: Debian packages (as root), .venv with ONNX Runtime, registry models and media
setup:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)"; exit 1; }
	@scripts/setup.sh all

## build: release build of the library, the plugin and the CLI
build: setup
	$(CARGO) build --release --workspace

## lint: formatting and clippy, warnings are errors; no circle of imports between files
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	python3 scripts/check-layers.py src plugins/src cli/src

## test: lint, then every test of the workspace (release, sharing the demo's build), then the
## model toolchain's tests where PyTorch is installed. A test that needs what only some set-ups
## have is #[ignore = "needs ..."] and runs here where this set-up has it; the studio's window
## test, which sets DISPLAY for GTK, runs alone in a process of its own.
test: lint build
	$(CARGO) test --release --workspace
	@if .venv/bin/pip show onnxruntime-gpu >/dev/null 2>&1; then \
		echo "a_provider_this_runtime_lacks_is_an_error_not_a_fallback not run: .venv holds onnxruntime-gpu, which has every provider"; \
	else \
		$(CARGO) test --release -p animecam --test inference -- --ignored; \
	fi
	$(CARGO) test --release -p animecam-cli --bin animecam -- --ignored studio
	.venv/bin/python -m pytest -q -p no:cacheprovider models/tests_mesh models/tests_quantize models/tests_import
	@$(MAKE) --no-print-directory test-models

## models-venv: the PyTorch exporters' dependencies (PyTorch is ~3 GB): only for developing the
## exporters and the benchmark's random set; importing a checkpoint never needs it
models-venv: setup
	.venv/bin/pip install -r models/requirements.txt

## bench-venv: what the bench's Python reference loop needs (no PyTorch)
bench-venv: setup
	.venv/bin/pip install -q --disable-pip-version-check -r models/requirements-bench.txt

## bench: per-stage cost and the Python reference ratio on full-size random-weight graphs (made
## once by the exporters, which need PyTorch: make models-venv random-models), fp32 and int8 (made
## once by the quantiser), into out/bench.json. Random weights are no model to hold to a quality
## threshold: the quantiser writes their int8 form whatever its quality (--force) and its manifest
## says which graphs passed (passes_threshold); users' sets (make int8-models) still fail under it.
bench: build bench-venv
	@test -f .cache/models/random/manifest.json || $(MAKE) --no-print-directory models-venv random-models
	@test -d .cache/models/random/styles || \
		PYTHONPATH=models .venv/bin/python -m animecam_models random-styles --out .cache/models/random
	@test -f .cache/models/random-int8/manifest.json || \
		PYTHONPATH=models .venv/bin/python -m animecam_models.quantize --models .cache/models/random --force
	@for set in animegan2-256 animegan2-512 cartoongan-256; do \
		test -f .cache/models/random/styles/$$set-int8/manifest.json || \
		PYTHONPATH=models .venv/bin/python -m animecam_models.quantize --models .cache/models/random/styles/$$set --force \
		|| exit 1; done
	@mkdir -p out
	target/release/animecam bench --json out/bench.json

## face-mesh: MediaPipe's face mesh converted to ONNX into models/face_mesh (verified against
## the TFLite interpreter on real faces)
face-mesh: setup
	@scripts/setup.sh face-mesh

## tiny-models: regenerate models/tiny (committed; the same weights, though the exporter's bytes vary), and its int8 form models/tiny-int8
## (committed; int8 whatever the speed, which tiny graphs do not show)
tiny-models:
	PYTHONPATH=models .venv/bin/python -m animecam_models tiny
	rm -rf models/tiny-int8
	PYTHONPATH=models .venv/bin/python -m animecam_models.quantize --models models/tiny --out models/tiny-int8 --keep-slower

## import-fixtures: regenerate the importer's committed test checkpoints and their reference
## outputs (models/tests_import/data; needs PyTorch: make models-venv)
import-fixtures:
	ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tests_import/make_checkpoint_fixtures.py
	ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tests_import/make_import_fixtures.py
	ORT_DISABLE_TELEMETRY=1 PYTHONPATH=models .venv/bin/python models/tests_import/make_style_fixtures.py

## int8-models: the int8 form of each imported set (vox-256-int8, ugatit-int8 beside them), for
## CPUs; fails, naming the graph, where int8 loses more than the threshold (see README, int8)
int8-models: setup
	@found=0; for set in vox-256 ugatit; do \
		if [ -f models/$$set/manifest.json ]; then found=1; \
			PYTHONPATH=models .venv/bin/python -m animecam_models.quantize --models models/$$set || exit 1; fi; \
	done; [ $$found = 1 ] || { echo "error: no converted vox-256 or ugatit set in models/ (README, Models)"; exit 1; }

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

## desktop-entry: animecam studio in your desktop's applications menu (this user only)
desktop-entry: build
	@scripts/setup.sh desktop-entry

clean-cache:
	rm -rf .cache
