#!/usr/bin/env bash
# The document stages on one machine and on a two-executor Ballista cluster on this
# machine, side by side in one run, over the same text: the shared corpora (the first
# DOCS_PER_FILE documents of each) or, without them, the synthetic corpus (SYNTHETIC_DOCS).
# Prints each stage's throughput per core, local and on the cluster, and the bytes the
# executors wrote (shuffle files) for MinHash at its default bands per GB of text.
# Everything is written under $CARGO_TARGET_DIR/bench-ballista, never into the project.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}
DATA=${DATA:-../shared/data}
DOCS_PER_FILE=${DOCS_PER_FILE:-2000}
SYNTHETIC_DOCS=${SYNTHETIC_DOCS:-20000}
OUT=$CARGO_TARGET_DIR/bench-ballista
cargo build --workspace --all-targets --quiet
BLEND=$CARGO_TARGET_DIR/debug/blend
rm -rf "$OUT" && mkdir -p "$OUT/corpus"
if [ -d "$DATA/corpora" ]; then
  for corpus in web_dclm_quality web_dolma_cc wiki_wt103 books_gutenberg code_python_ruff \
                math_gsm8k chat_alpaca_eval qa_llm_foundry multilingual_udhr; do
    head -n "$DOCS_PER_FILE" "$DATA/corpora/$corpus.jsonl" > "$OUT/corpus/$corpus.jsonl"
  done
  echo "corpus: the shared corpora, first $DOCS_PER_FILE documents of each"
else
  "$BLEND" -q gen-corpus --docs "$SYNTHETIC_DOCS" --seed 3 --out "$OUT/synthetic" > /dev/null
  mv "$OUT/synthetic/corpus/"* "$OUT/corpus/"
  echo "corpus: $SYNTHETIC_DOCS synthetic documents ($DATA/corpora is absent)"
fi
CORES=$(nproc)

pipeline() { # $1: stages file
  cat <<TOML
[pipeline]
name = "bench-ballista"
seed = 7
work_dir = "work"
out_dir = "output"
rows_per_part = 2000

[[inputs]]
path = "../corpus"

TOML
  cat "$1"
  cat <<'TOML'

[tokenizer]
vocab_size = 2048
TOML
}

cat > "$OUT/stages.toml" <<'TOML'
[[stages]]
name = "normalize"
operator = "text.normalize"

[[stages]]
name = "exact_dedup"
operator = "dedup.exact"

[[stages]]
name = "near_dedup"
operator = "dedup.minhash"

[[stages]]
name = "gopher_quality"
operator = "quality.gopher_quality"

[[stages]]
name = "c4"
operator = "quality.c4"

[[stages]]
name = "fineweb"
operator = "quality.fineweb"

[[stages]]
name = "language"
operator = "quality.language"
TOML
cat > "$OUT/minhash.toml" <<'TOML'
[[stages]]
name = "near_dedup"
operator = "dedup.minhash"
TOML

start_cluster() { # $1: folder; executors get one vcore and one rayon thread each
  mkdir -p "$1"
  "$BLEND" cluster scheduler --bind 127.0.0.1:50250 > "$1/scheduler.log" 2>&1 &
  PIDS="$!"
  sleep 1
  for i in 0 1; do
    RAYON_NUM_THREADS=1 "$BLEND" cluster executor --scheduler 127.0.0.1:50250 --vcores 1 \
      --work-dir "$1/executor-$i" --bind "127.0.0.1:$((50261 + 10 * i))" > "$1/executor-$i.log" 2>&1 &
    PIDS="$PIDS $!"
  done
  sleep 3
}
stop_cluster() { kill $PIDS 2> /dev/null || true; wait $PIDS 2> /dev/null || true; }
trap stop_cluster EXIT

run_job() { # $1: job folder, $2: stages file, $3: extra flags
  mkdir -p "$1" && pipeline "$2" > "$1/pipeline.toml"
  local start=$(date +%s.%N)
  (cd "$1" && "$BLEND" -q run pipeline.toml --json $3 > run.json)
  echo "$(date +%s.%N) - $start" | bc > "$1/wall"
}

run_job "$OUT/local" "$OUT/stages.toml" ""
start_cluster "$OUT/cluster-processes"
run_job "$OUT/cluster" "$OUT/stages.toml" "--cluster df://127.0.0.1:50250"
stop_cluster
start_cluster "$OUT/minhash-processes"
run_job "$OUT/minhash" "$OUT/minhash.toml" "--cluster df://127.0.0.1:50250"
stop_cluster
shuffle_bytes=$(find "$OUT/minhash-processes"/executor-* -name '*.arrow' -printf '%s\n' | awk '{s+=$1} END {print s+0}')

python3 - "$OUT" "$CORES" "$shuffle_bytes" <<'PY'
import json, sys
out, cores, shuffle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def funnel(job):
    report = json.load(open(f"{out}/{job}/output/report.json"))
    return {s["stage"]: s for s in report["funnel"]}
local, cluster = funnel("local"), funnel("cluster")
print(f"{cores} cores; local: one process (rayon on {cores} threads); cluster: 2 executors × 1 vcore × 1 rayon thread")
print("stage             docs     local MB/s/core  cluster MB/s/core   local s  cluster s")
for name, s in local.items():
    c = cluster.get(name, {})
    def per_core(stage, n):
        mbps = stage.get("mb_per_second")
        return f"{mbps / n:8.2f}" if mbps else "       -"
    print(f'{name:<16} {s["rows_in"]:>6} {per_core(s, cores):>16} {per_core(c, cores):>18} '
          f'{s.get("seconds") or 0:>9.2f} {c.get("seconds") or 0:>10.2f}')
for job in ("local", "cluster"):
    print(f"{job} wall: {float(open(f'{out}/{job}/wall').read()):.1f} s")
m = json.load(open(f"{out}/minhash/output/report.json"))
read = {s["stage"]: s for s in m["funnel"]}["read"]
text_bytes = read["text_bytes_in"]
summary = json.load(open(next(__import__("glob").iglob(f"{out}/minhash/work/near_dedup-*/manifest.json"))))
ms = summary["operator_summary"]
print(f'MinHash on the cluster: {ms["bands"]} bands × {ms["rows"]} rows, {ms["documents"]} documents, '
      f'{ms["candidate_edges"]} candidate edges')
print(f"shuffle files: {shuffle} bytes for {text_bytes} bytes of text = "
      f"{shuffle / text_bytes * 1e3:.0f} MB per GB of text "
      f"({shuffle / ms['documents']:.0f} bytes per document)")
PY
