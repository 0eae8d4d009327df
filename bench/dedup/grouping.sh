#!/usr/bin/env bash
# How dedup.minhash groups its LSH band table: blend's partitioned on-disk runs vs DataFusion's
# spilling GROUP BY (records as Parquet, array_agg per key, memory pool = the budget), on the
# same synthetic band keys (14 bands per document, every 10th document a planted near copy).
# Prints one table: documents, approach, seconds, peak RSS, groups and edges found.
# Env: DOCS (default "2000000 5000000"), BUDGET_MIB (default 256).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"
budget="${BUDGET_MIB:-256}"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
# The dev profile (dependencies at opt-level 2) as `make test` builds it: no release build.
(cd "$repo" && cargo test -q -p blend-operators --bench band_grouping --no-run 2>/dev/null)
bin=$(ls -t "$target"/debug/deps/band_grouping-* | grep -v '\.d$' | head -n1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '| docs | approach | seconds | peak RSS MiB | groups | edges |\n|---|---|---|---|---|---|\n'
for docs in ${DOCS:-2000000 5000000}; do
  for approach in runs datafusion; do
    /usr/bin/time -f "%M" -o "$work/rss" "$bin" "$approach" "$docs" "$budget" > "$work/out"
    line=$(cat "$work/out")
    field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf '| %s | %s | %s | %d | %s | %s |\n' "$docs" "$approach" "$(field seconds)" \
      $(( $(cat "$work/rss") / 1024 )) "$(field groups)" "$(field edges)"
  done
done
echo "budget: ${budget} MiB; $(nproc) cores; $(date -u +%Y-%m-%d)"
