#!/usr/bin/env bash
# MinHash-LSH near-duplicate detection: `blend dedup` vs rensa, datasketch, datatrove and
# text-dedup (PyPI, in venvs under the target dir), same 112 permutations = 14 bands x 8 rows and
# word 5-grams, on a synthetic corpus (BENCH_DOCS docs, `blend gen-corpus --seed 42`) and on the
# shared JSONL corpora. Prints one table: docs/s, MB/s, signature MB/s, peak RSS, rows flagged,
# agreement with blend, wall time relative to blend. BENCH_TOOLS picks tools, BLEND_BIN the binary,
# BENCH_INPUT_FILES (space-separated JSONL or Parquet files) replaces both inputs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data="$repo/../shared/data"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"  # cargo builds where the script reads
target="$CARGO_TARGET_DIR"
bench="$target/bench-dedup"
venv="$bench/venv"
venv_td="$bench/venv-textdedup"
results="$bench/results"
docs="${BENCH_DOCS:-50000}"
tools="${BENCH_TOOLS:-blend,rensa,datasketch,datatrove,text-dedup}"
want() { [[ ",$tools," == *",$1,"* ]]; }
pip_q() { "$1/bin/pip" install -q --disable-pip-version-check "${@:2}"; }

if [ ! -x /usr/bin/time ]; then
  apt-get install -y -q time > /dev/null || sudo apt-get install -y -q time > /dev/null
fi
mkdir -p "$bench"
# datatrove's MinHash needs regex/tokenizers/nltk/orjson (its "processing" extra, without the rest)
# and hashes str with xxhash, which xxhash >= 4 refuses: pin xxhash<4 as that extra does.
if ! "$venv/bin/python" -c "import pyarrow, datasketch, rensa, datatrove, spacy, regex, tokenizers, nltk, orjson, xxhash" 2>/dev/null; then
  python3 -m venv "$venv"
  pip_q "$venv" pyarrow datasketch rensa datatrove spacy regex tokenizers nltk orjson "xxhash<4"
fi
# text-dedup pins its own datasets/pyspark stack: its own venv, and a failed install is reported, not fatal
td_status=""
if want text-dedup && ! "$venv_td/bin/python" -c "import text_dedup.minhash, pyarrow" 2>/dev/null; then
  python3 -m venv "$venv_td"
  pip_q "$venv_td" text-dedup pyarrow > "$bench/text-dedup-install.log" 2>&1 \
    || td_status="not installed (pip failed, see $bench/text-dedup-install.log)"
fi
blend="${BLEND_BIN:-$target/debug/blend}"
built=""
need_blend() { # build once, unless BLEND_BIN names a binary
  if [ -z "${BLEND_BIN:-}" ] && [ -z "$built" ]; then
    (cd "$repo" && cargo build -q --workspace --all-targets)  # as make test builds: no second datafusion build
    built=1
  fi
}
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1  # no network; no __pycache__ in the repo
rm -rf "$results"
mkdir -p "$results"

timed() { # dir, label, command...: wall s + peak RSS KB to dir/label.time, stdout to dir/label.json
  local dir=$1 label=$2; shift 2
  if ! /usr/bin/time -f "%e %M" -o "$dir/$label.time" "$@" > "$dir/$label.json" 2> "$dir/$label.log"; then
    echo "failed (exit code; see $dir/$label.log)" > "$dir/$label.status"
    echo "$label failed on $(basename "$dir"), see $dir/$label.log" >&2
    return 1
  fi
}

run_input() { # name, input files in order
  local name=$1; shift
  local dir="$results/$name" tool
  mkdir -p "$dir"
  printf '%s\n' "$@" > "$dir/inputs.txt"
  echo "$name: $# files" >&2
  if want blend; then
    need_blend
    local args=() f
    for f in "$@"; do args+=(--input "$f"); done
    timed "$dir" blend "$blend" -q dedup "${args[@]}" --out "$dir/blend" \
      --num-perm 112 --bands 14 --rows 8 --ngram 5 --seed 42 --json || true
  fi
  for tool in rensa datasketch datatrove; do
    want "$tool" || continue
    timed "$dir" "$tool" "$venv/bin/python" "$here/${tool}_dedup.py" run "$dir/$tool" "$@" || continue
    # untimed second process: seconds to compute signatures from ready shingle lists
    "$venv/bin/python" "$here/${tool}_dedup.py" sign "$@" > "$dir/$tool.sign.json" 2>> "$dir/$tool.log" \
      || echo "$tool sign failed on $name, see $dir/$tool.log" >&2
  done
  if want text-dedup; then
    if [ -n "$td_status" ]; then
      echo "$td_status" > "$dir/text-dedup.status"
    else # untimed: one (id, text) Parquet in input order; timed: its CLI; untimed: its kept ids
      if ! "$venv_td/bin/python" "$here/textdedup_dedup.py" prep "$dir/text-dedup" "$@" 2> "$dir/text-dedup.log"; then
        echo "failed (writing its input; see $dir/text-dedup.log)" > "$dir/text-dedup.status"
        return 0
      fi
      timed "$dir" text-dedup \
        "$venv_td/bin/python" -m text_dedup.minhash --path parquet --split train \
        --data_files "$dir/text-dedup/textdedup-input.parquet" --cache_dir "$dir/text-dedup/cache" \
        --output "$dir/text-dedup/textdedup-kept" --column text --ngram 5 --num_perm 112 --b 14 --r 8 \
        --min_length 0 --num_proc 1 \
        && "$venv_td/bin/python" "$here/textdedup_dedup.py" collect "$dir/text-dedup" > /dev/null \
        && rm -rf "$dir/text-dedup/cache" "$dir/text-dedup/textdedup-input.parquet"
    fi
  fi
}

if [ -n "${BENCH_INPUT_FILES:-}" ]; then # your own inputs instead (e.g. to try the peers)
  read -r -a custom <<< "$BENCH_INPUT_FILES"
  run_input custom "${custom[@]}"
else
  # synthetic corpus: generated once per BENCH_DOCS (gen-corpus always rewrites, so check first)
  synthetic="$bench/synthetic-$docs-s42"
  if ! "$venv/bin/python" -c "import json, sys; m = json.load(open(sys.argv[1])); sys.exit(m['docs'] != $docs or m['seed'] != 42)" \
    "$synthetic/corpus/_corpus.json" 2>/dev/null || [ ! -f "$synthetic/ground_truth.jsonl" ]; then
    need_blend
    "$blend" -q gen-corpus --docs "$docs" --seed 42 --out "$synthetic" > /dev/null
  fi
  mapfile -t parts < <(find "$synthetic/corpus" -maxdepth 1 -name '*.parquet' ! -name '_*' | LC_ALL=C sort)
  run_input "synthetic-$docs" "${parts[@]}"

  if [ -d "$data/corpora" ]; then
    mapfile -t corpora < <(find "$data/corpora" -maxdepth 1 -name '*.jsonl' | LC_ALL=C sort)
    run_input shared-corpora "${corpora[@]}"
  else
    echo "skipping the shared corpora: $data/corpora is absent" >&2
  fi
fi

(cd "$here" && "$venv/bin/python" compare.py "$results")
echo "(saved to $results/table.md)"
