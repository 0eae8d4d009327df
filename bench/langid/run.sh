#!/usr/bin/env bash
# Language id: blend's `quality.language` (whatlang) against lingua (PyPI
# lingua-language-detector) on the Tatoeba and UDHR documents of ../shared/data/corpora:
# accuracy per language and overall, docs/s. MAX_CHARS: characters looked at per document.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
OUT=$CARGO_TARGET_DIR/bench-langid
VENV=$OUT/venv
CORPORA=${CORPORA:-../shared/data/corpora}
MAX_CHARS=${MAX_CHARS:-4000}
if [ ! -f "$CORPORA/multilingual_tatoeba.jsonl" ]; then
  echo "skipping: $CORPORA/multilingual_tatoeba.jsonl is absent" >&2
  exit 0
fi
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import lingua" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q lingua-language-detector
fi
cargo build --workspace --all-targets --quiet
BIN=$(ls -t "$CARGO_TARGET_DIR"/debug/deps/langid-* | grep -v '\.d$' | head -1)
"$BIN" --bench corpora="$CORPORA" out="$OUT/whatlang.jsonl" max_chars="$MAX_CHARS"
"$VENV/bin/python" bench/langid/compare.py "$OUT/whatlang.jsonl" "$CORPORA" --max-chars "$MAX_CHARS"
