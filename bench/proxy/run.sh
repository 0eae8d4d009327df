#!/usr/bin/env bash
# Proxy training speed: blend's candle step loop vs the same model in PyTorch (eager and
# torch.compile), on this machine's CPU, for the tiny and regmix-1m presets; then several
# proxies at once on the CPU (parallel 1 vs 2). Each row is one process, so peak RSS is that
# configuration's own. PyTorch goes in a venv under the target dir (never in the project).
# GPU rows: `make check-cuda` builds the CUDA binaries; bench/proxy/gpu.sh runs them on a GPU
# machine. This script runs CPU rows only.
# STEPS, WARMUP, THREADS, PROFILE override the sizes; results go to $OUT/results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
TARGET=$CARGO_TARGET_DIR
OUT=$TARGET/bench-proxy
VENV=$OUT/venv
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch numpy
fi
# PROFILE=release for a release build (a cold one takes ~30 min here); the default dev build
# already compiles candle at opt-level 2 and blend-proxy-train at 3 (see Cargo.toml).
PROFILE=${PROFILE:-dev}
if [ "$PROFILE" = release ]; then
  cargo build --release -p blend-proxy-train --bench train_step --quiet
  DIR=release
else
  cargo build --workspace --all-targets --quiet
  DIR=debug
fi
CANDLE=$(ls -t "$TARGET/$DIR"/deps/train_step-* | grep -v '\.d$' | head -1)
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
run() { echo "$*" >&2; "$@" | tail -1 | tee -a "$RESULTS"; }
for config in "preset=tiny vocab=512 seq=64 batch=8" "preset=regmix-1m vocab=4096 seq=256 batch=16"; do
  # shellcheck disable=SC2086
  run env RAYON_NUM_THREADS="$THREADS" "$CANDLE" --bench $config steps="$STEPS" warmup="$WARMUP"
  # shellcheck disable=SC2086
  run "$VENV/bin/python" bench/proxy/torch_step.py $config steps="$STEPS" warmup="$WARMUP" threads="$THREADS" compile=0
  # shellcheck disable=SC2086
  run "$VENV/bin/python" bench/proxy/torch_step.py $config steps="$STEPS" warmup="$WARMUP" threads="$THREADS" compile=1
done
# Several tiny proxies at once: one thread each vs one after the other.
for parallel in 1 2; do
  run env RAYON_NUM_THREADS="$THREADS" "$CANDLE" --bench preset=tiny vocab=512 seq=64 batch=8 \
    steps="$STEPS" warmup="$WARMUP" proxies=4 parallel="$parallel"
done
"$VENV/bin/python" bench/proxy/table.py "$RESULTS"
