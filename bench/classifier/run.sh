#!/usr/bin/env bash
# Quality classifier parity: `blend quality train` against PyPI fastText on the same
# stratified folds, same settings (dim, epochs, lr, word n-grams, buckets). Two tasks from
# ../shared/data/corpora:
#   1. DCLM's labeled web documents (web_dclm_quality.jsonl, label 1 = good), 5-fold CV
#      repeated for SEEDS;
#   2. DCLM's recipe: reference documents (QA + chat) against web/books/wiki ("other"), one
#      held-out 20% split per seed, MAX_PER_LABEL documents per label.
# fastText gets THREADS threads (blend trains on one). The venv lives under the target dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
OUT=$CARGO_TARGET_DIR/bench-classifier
VENV=$OUT/venv
CORPORA=${CORPORA:-../shared/data/corpora}
SEEDS=${SEEDS:-1 2 3 4 5}
DIM=${DIM:-64}
LR=${LR:-1.0}        # blend's defaults; LR=0.1 EPOCHS=5 are fastText's
EPOCHS=${EPOCHS:-10}
THREADS=${THREADS:-2}
MAX_PER_LABEL=${MAX_PER_LABEL:-3000}
if [ ! -d "$CORPORA" ]; then
  echo "skipping: $CORPORA is absent" >&2
  exit 0
fi
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import fasttext, sklearn" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q fasttext "numpy<2" scikit-learn  # fasttext 0.9.3 predicts with numpy 1 only
fi
cargo build --workspace --all-targets --quiet
BLEND=$CARGO_TARGET_DIR/debug/blend

echo "## DCLM labeled web documents: 5-fold cross-validation, dim $DIM, lr $LR, $EPOCHS epochs"
rm -rf "$OUT/dclm" && mkdir -p "$OUT/dclm"
for seed in $SEEDS; do
  "$BLEND" -q quality train --labels "$CORPORA/web_dclm_quality.jsonl" --folds 5 --dim "$DIM" --lr "$LR" --epochs "$EPOCHS" --seed "$seed" \
    --model "$OUT/dclm/model_$seed.bin" --predictions "$OUT/dclm/predictions_$seed.jsonl" --json > "$OUT/dclm/blend_$seed.json"
done
"$VENV/bin/python" bench/classifier/fasttext_peer.py "$OUT/dclm" --seeds $SEEDS --threads "$THREADS" \
  --corpus "$CORPORA/web_dclm_quality.jsonl"

echo
echo "## DCLM recipe: reference = QA + chat, other = web + books + wiki; held-out 20%, ≤ $MAX_PER_LABEL per label, dim $DIM, lr $LR, $EPOCHS epochs"
REFERENCE=("$CORPORA/qa_llm_foundry.jsonl" "$CORPORA/chat_alpaca_eval.jsonl")
OTHER=("$CORPORA/web_dclm_quality.jsonl" "$CORPORA/web_dolma_cc.jsonl" "$CORPORA/books_gutenberg.jsonl" "$CORPORA/wiki_wt103.jsonl")
rm -rf "$OUT/recipe" && mkdir -p "$OUT/recipe"
for seed in $SEEDS; do
  "$BLEND" -q quality train --reference "${REFERENCE[@]}" --other "${OTHER[@]}" --max-per-label "$MAX_PER_LABEL" \
    --dim "$DIM" --lr "$LR" --epochs "$EPOCHS" --seed "$seed" --model "$OUT/recipe/model_$seed.bin" \
    --predictions "$OUT/recipe/predictions_$seed.jsonl" --json > "$OUT/recipe/blend_$seed.json"
done
"$VENV/bin/python" bench/classifier/fasttext_peer.py "$OUT/recipe" --seeds $SEEDS --threads "$THREADS" \
  --corpus "${REFERENCE[@]}" "${OTHER[@]}"
echo
for task in dclm recipe; do
  echo "model file ($task, seed $(echo $SEEDS | cut -d' ' -f1)): $(stat -c %s "$OUT/$task/model_$(echo $SEEDS | cut -d' ' -f1).bin") bytes"
done
