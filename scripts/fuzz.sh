#!/usr/bin/env bash
# Fuzzes every input format blend reads for SECONDS in all (default 600), with the seeded
# mutation loop of tests/end_to_end/fuzz_inputs.rs, and prints per format the inputs tried,
# how many read, how many were errors, and the panics or badly worded errors (must be 0).
# Findings are saved under $CARGO_TARGET_DIR/tmp/fuzz-findings/<format>/.
#   scripts/fuzz.sh [SECONDS] [SEED]
set -euo pipefail

SECONDS_TOTAL="${1:-600}"
SEED="${2:-1}"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"
export PATH="$HOME/.cargo/bin:$PATH"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "fuzzing for ${SECONDS_TOTAL}s (seed $SEED) on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
status=0
BLEND_FUZZ_SECONDS="$SECONDS_TOTAL" BLEND_FUZZ_SEED="$SEED" RUST_BACKTRACE=0 \
  cargo test --workspace --all-targets fuzz_inputs::fuzzed -- --nocapture --test-threads 1 \
  >"$log" 2>&1 || status=$?
# The per-format lines and the total, then the findings when there are any.
grep -oE 'fuzz [a-z.-]+ +inputs.*|fuzz total:.*' "$log" || true
if [ "$status" -ne 0 ]; then
  grep -A40 'panicked or gave an error' "$log" || tail -40 "$log"
  echo "fuzz.sh: FAILED (see above)" >&2
fi
exit "$status"
