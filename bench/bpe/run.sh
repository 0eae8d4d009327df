#!/usr/bin/env bash
# BPE mixture inference, three tables:
#   1. the known-mixture evaluation (`blend bpe-eval`): mean log10 MSE per pool and n, beside a
#      random guess and the paper's numbers;
#   2. the real tokenizers of ../shared/data/tokenizers on English / code / multilingual
#      categories (`blend infer-mixture`);
#   3. LP solvers on the same inference (Clarabel vs microlp; `cargo bench --bench bpe_lp`).
# Outputs (JSON, HTML reports) go under ${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}/bench-bpe.
# TRIALS, MERGES, SAMPLE_BYTES and INFER_MERGES override the sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=../shared/data
if [ ! -d "$DATA/corpora" ]; then
  echo "skipping: $DATA/corpora is absent"
  exit 0
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
TARGET=$CARGO_TARGET_DIR
OUT=$TARGET/bench-bpe
mkdir -p "$OUT"
TRIALS=${TRIALS:-20}
MERGES=${MERGES:-1000}
INFER_MERGES=${INFER_MERGES:-1000}
SAMPLE_BYTES=${SAMPLE_BYTES:-1MB}
cargo build --workspace --all-targets --quiet
BLEND=$TARGET/debug/blend

echo "== 1. known mixtures (trials $TRIALS, merges $MERGES) =="
"$BLEND" bpe-eval --corpora "$DATA/corpora" --pool languages,domains --categories 5,10 \
  --trials "$TRIALS" --merges "$MERGES" --report "$OUT/eval.html" --quiet | tee "$OUT/eval.txt"
"$BLEND" bpe-eval --corpora "$DATA/corpora" --pool code --categories 2,3 \
  --trials "$TRIALS" --merges "$MERGES" --report "$OUT/eval-code.html" --quiet | tee "$OUT/eval-code.txt"

echo "== 2. real tokenizers (first $INFER_MERGES merges, $SAMPLE_BYTES per category) =="
CATEGORIES=$OUT/categories
rm -rf "$CATEGORIES"
mkdir -p "$CATEGORIES/english" "$CATEGORIES/code" "$CATEGORIES/multilingual"
CORPORA=$(cd "$DATA/corpora" && pwd)
for f in wiki_wt103 books_gutenberg web_dclm_quality web_dolma_cc; do
  ln -s "$CORPORA/$f.jsonl" "$CATEGORIES/english/"
done
for f in code_python_ruff code_c_cuda_llmc; do ln -s "$CORPORA/$f.jsonl" "$CATEGORIES/code/"; done
# UDHR only: Tatoeba pairs every language with English, so half its text is English.
ln -s "$CORPORA/multilingual_udhr.jsonl" "$CATEGORIES/multilingual/"
TOKENIZERS=()
for t in gpt_2 gpt_3 gpt_neox claude llama mistral; do
  TOKENIZERS+=(--tokenizer "$DATA/tokenizers/${t}_tokenizer.json")
done
"$BLEND" infer-mixture "${TOKENIZERS[@]}" --categories "$CATEGORIES" --merges "$INFER_MERGES" \
  --max-bytes "$SAMPLE_BYTES" --report "$OUT/real_tokenizers.html" --quiet | tee "$OUT/real_tokenizers.txt"

echo "== 3. LP solvers on one inference =="
cargo bench -p blend-mixers --bench bpe_lp --quiet -- "$INFER_MERGES" 1048576 | tee "$OUT/lp_solvers.txt"
