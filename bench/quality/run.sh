#!/usr/bin/env bash
# Quality-rule parity: datatrove's Gopher quality, Gopher repetition, C4 and FineWeb filters
# (defaults, English) against blend's on the first LIMIT documents of every file in
# ../shared/data/corpora: per-rule decision and reason agreement, disagreement classes, blend's
# docs/s on one thread; and blend's English word splitter against spaCy's, document by
# document. datatrove (+ spaCy) goes in a venv under the target dir. REUSE=1 keeps the
# datatrove / spaCy outputs of an earlier run with the same LIMIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
TARGET=$CARGO_TARGET_DIR
OUT=$TARGET/bench-quality
VENV=$OUT/venv
LIMIT=${LIMIT:-300}
CORPORA=${CORPORA:-../shared/data/corpora}
if [ ! -d "$CORPORA" ]; then
  echo "skipping: $CORPORA is absent" >&2
  exit 0
fi
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import datatrove, spacy" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "datatrove[processing]" spacy
fi
VERDICTS=$OUT/datatrove_$LIMIT.jsonl
WORDS=$OUT/spacy_words_$LIMIT.jsonl
if [ "${REUSE:-0}" != 1 ] || [ ! -s "$VERDICTS" ]; then
  "$VENV/bin/python" bench/quality/datatrove_filters.py "$VERDICTS" "$CORPORA"/*.jsonl --limit "$LIMIT"
fi
if [ "${REUSE:-0}" != 1 ] || [ ! -s "$WORDS" ]; then
  "$VENV/bin/python" bench/quality/spacy_words.py "$WORDS" "$CORPORA"/*.jsonl --limit "$LIMIT"
fi
cargo build --workspace --all-targets --quiet
WORDS_BIN=$(ls -t "$TARGET"/debug/deps/english_words-* | grep -v '\.d$' | head -1)
PARITY_BIN=$(ls -t "$TARGET"/debug/deps/quality_parity-* | grep -v '\.d$' | head -1)
"$WORDS_BIN" --bench spacy="$WORDS" corpora="$CORPORA" > "$OUT/words_report.txt"
head -20 "$OUT/words_report.txt"  # (piping into head would stop the bench mid-print)
"$PARITY_BIN" --bench datatrove="$VERDICTS" corpora="$CORPORA"
