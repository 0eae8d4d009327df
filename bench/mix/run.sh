#!/usr/bin/env bash
# Mixture regression and search on RegMix's 1M-proxy runs: `blend mix eval` (every
# regressor, ρ against training runs, CLIMB against random) beside Python LightGBM and
# scikit-learn on the same split, then `blend mix fit` + `blend mix search` over 1M
# candidates, timed. Peers install into a venv under the cargo target dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${BLEND_SHARED_DATA:-../shared/data}"
if [ ! -d "$DATA/regmix" ]; then
  echo "skipping: $DATA/regmix is absent"
  exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"
WORK="$CARGO_TARGET_DIR/bench-mix"
mkdir -p "$WORK"
TARGET="metric/the_pile_pile_cc_val_loss"

if [ ! -x "$WORK/venv/bin/python" ] || ! "$WORK/venv/bin/python" -c "import lightgbm, sklearn, scipy, pandas" 2>/dev/null; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q --disable-pip-version-check lightgbm scikit-learn scipy pandas
fi
cargo build --workspace --all-targets -q
BLEND="$CARGO_TARGET_DIR/debug/blend"

echo "== Python peers (LightGBM $("$WORK/venv/bin/python" -c 'import lightgbm; print(lightgbm.__version__)'), scikit-learn)"
"$WORK/venv/bin/python" bench/mix/peer_regmix.py "$DATA" "$TARGET"

echo "== blend mix eval"
/usr/bin/time -f "blend mix eval: %e s wall, %M KiB peak" "$BLEND" -q mix eval \
  --mixtures "$DATA/regmix/train_mixture_1m.csv" --metrics "$DATA/regmix/train_pile_loss_1m.csv" \
  --test-mixtures "$DATA/regmix/test_mixture_1m.csv" --test-metrics "$DATA/regmix/test_pile_loss_1m.csv" \
  --target "$TARGET" --out "$WORK/eval"

echo "== blend mix fit + search (1M candidates, top 128, 16 bootstrap refits)"
/usr/bin/time -f "blend mix fit: %e s wall, %M KiB peak" "$BLEND" -q mix fit \
  --mixtures "$DATA/regmix/train_mixture_1m.csv" --metrics "$DATA/regmix/train_pile_loss_1m.csv" \
  --target "$TARGET" --model "$WORK/model.json"
/usr/bin/time -f "blend mix search (with bootstrap): %e s wall, %M KiB peak" "$BLEND" -q mix search \
  --model "$WORK/model.json" --out "$WORK/search/mixture.json" --token-budget 25000000000
/usr/bin/time -f "blend mix search (no bootstrap): %e s wall, %M KiB peak" "$BLEND" -q mix search \
  --model "$WORK/model.json" --out "$WORK/search-nb/mixture.json" --bootstrap 0 --token-budget 25000000000

echo "== stage timings (bench binary)"
BENCH=$(ls -t "$CARGO_TARGET_DIR"/debug/deps/regmix_search-* 2>/dev/null | grep -v '\.d$' | head -n1)
"$BENCH" --bench
