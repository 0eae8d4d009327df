#!/usr/bin/env bash
# Validates blend's Megatron shards with megatron-core's own reader. megatron-core imports
# torch, and PyPI's torch pulls several GB of CUDA libraries, so this lives here and not in
# `make test`. Builds a demo run and its final shards, then reads them back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"  # cargo builds where the script reads
target="$CARGO_TARGET_DIR"
venv="$target/megatron-venv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! "$venv/bin/python" -c "import torch, numpy; from megatron.core.datasets.indexed_dataset import IndexedDataset" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy torch packaging
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps megatron-core
fi
(cd "$repo" && cargo build -q --workspace --all-targets)
blend="$target/debug/blend"
"$blend" -q demo --docs 3000 --out "$work/demo" > /dev/null
"$blend" -q shards --mixture "$work/demo/output/mixture.json" --tokens 1M --out "$work/final" \
  --formats megatron,nanogpt --shard-tokens 300k > /dev/null
"$blend" -q shards verify "$work/final"
"$venv/bin/python" "$here/megatron_core_check.py" "$work/demo/output/shards"
"$venv/bin/python" "$here/megatron_core_check.py" "$work/final"
