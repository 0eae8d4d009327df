#!/usr/bin/env bash
# The closed-loop mixture methods side by side at equal proxy budgets: RegMix search,
# QuaDMix, multi-fidelity Bayesian optimisation, and online reweighting (Aioli, DoReMi), each
# as `[mixture] method` of the same pipeline file, on two corpora:
#   1. the synthetic corpus (`blend demo --docs 3000 --seed 7`, its pipeline and classifier);
#   2. the shared corpora as bench/job/run.sh prepares them (examples/web_english over
#      DATA/corpora, DOCS_PER_FILE documents of each file); skipped when DATA/corpora is absent.
# Every method spends PROXIES × STEPS optimizer steps of proxy training and is validated with
# the same `validate = { steps = VALIDATE_STEPS, seeds = SEEDS }`. All runs of a corpus (and
# pipeline seed) share one work folder, so curation and the proxies' token streams are
# computed once; only the [mixture] table differs. After each run output/report.json,
# output/mixture.json and output/run_summary.json are copied to runs/<method>/, and one table
# per corpus (and seed) is printed: method | proxy runs | validated held-out loss of the chosen
# and the natural mixture (mean ± sd over validation seeds) | chosen − natural | wall seconds,
# then each method's chosen weights.
# Repeats: REPEATS=N (default 1) runs each corpus's comparison under the pipeline seeds SEED0,
# SEED0+1, …, SEED0+N−1 (`[pipeline] seed`; SEED0 defaults to the base pipeline file's seed,
# 7 for both corpora). The pipeline seed drives fuzzy dedup, embedding and clustering as well
# as the proxies and the validation runs (the synthetic corpus's demo corpus and classifier
# stay the same; the shared corpora's domains are k-means clusters, so they may differ from
# seed to seed). Each seed has its own folder <corpus>/seed-<s>/ (its work/, output/, runs/;
# the inputs and quality_model.bin are symlinked, and a new seed's work/ starts as a copy of
# <corpus>/work/ when there is one, a warm start that is checked by content). After the
# per-seed tables a summary per corpus is printed: method | repeats | mean ± sd over seeds of
# (chosen − natural) | how many seeds the method beat natural by more than the validation
# spread (chosen_mean + chosen_sd < natural_mean − natural_sd) | mean wall seconds. With
# REPEATS=1 and SEED0 unset the layout and output are the single-seed ones (<corpus>/work,
# <corpus>/runs, no summary).
# DATA (default ../shared/data), DOCS_PER_FILE (1000), PROXIES (12), STEPS (100),
# VALIDATE_STEPS (300), SEEDS (3, validation seeds), METHODS (all five), CORPORA ("synthetic
# web"), REPEATS (1) and SEED0 override; FRESH=1 drops each run folder's cached proxy runs
# first (curation stays cached), so every wall time is a full run's; NO_BUILD=1 skips
# `cargo build`. Everything is written under $CARGO_TARGET_DIR/bench-methods, never into the
# project.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}
DATA=${DATA:-../shared/data}
DOCS_PER_FILE=${DOCS_PER_FILE:-1000}
PROXIES=${PROXIES:-12}
STEPS=${STEPS:-100}
VALIDATE_STEPS=${VALIDATE_STEPS:-300}
SEEDS=${SEEDS:-3}
METHODS=${METHODS:-"search quadmix bayes_opt aioli doremi"}
CORPORA=${CORPORA:-"synthetic web"}
REPEATS=${REPEATS:-1}
case "$REPEATS" in ''|*[!0-9]*|0) echo "REPEATS must be a positive integer, not '$REPEATS'" >&2; exit 2 ;; esac
OUT=$CARGO_TARGET_DIR/bench-methods
mkdir -p "$OUT"
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --workspace --all-targets --quiet
fi
BLEND=$CARGO_TARGET_DIR/debug/blend

# write_variant BASE DEST METHOD QUALITY [SEED]: BASE's pipeline file with its [mixture] table
# (and its [mixture.*] subtables) replaced by METHOD's at the shared budget, and, given SEED,
# its `[pipeline] seed` set to SEED. QUALITY is the TOML list of QuaDMix's quality columns.
write_variant() {
  python3 - "$1" "$2" "$3" "$4" "${5:-}" "$PROXIES" "$STEPS" "$VALIDATE_STEPS" "$SEEDS" <<'PY'
import re, sys, tomllib
base, dest, method, quality, seed, proxies, steps, vsteps, seeds = sys.argv[1:]
text = open(base).read()
lines, out, skipping, table, seed_set = text.splitlines(keepends=True), [], False, None, False
for line in lines:
    header = re.match(r'^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$', line)
    if header:
        if seed and table == "pipeline" and not seed_set:
            out.append(f"seed = {int(seed)}\n")  # [pipeline] had no seed line
            seed_set = True
        table = header.group(1)
        skipping = table == "mixture" or table.startswith("mixture.")
    elif seed and table == "pipeline" and re.match(r'^\s*seed\s*=', line):
        line, seed_set = f"seed = {int(seed)}\n", True
    if not skipping:
        out.append(line)
common = f'''proxies = {proxies}
steps = {steps}
preset = "tiny"
sequence_length = 64
batch_size = 8
lr = 3e-3
vocab_size = 1024
valid_fraction = 0.1
target = "valid_loss"
candidates = 100000
top_k = 100
bootstrap = 8
validate = {{ steps = {vsteps}, seeds = {seeds} }}
'''
table = {
    "search": 'method = "search"\nprior = "natural"\nregressor = "lightgbm"\n',
    "quadmix": f'method = "quadmix"\nregressor = "lightgbm"\n'
               f'quadmix = {{ quality = {quality}, lower_is_better = [], epsilon = 1e-3, top = 10 }}\n',
    "bayes_opt": 'method = "bayes_opt"\nprior = "natural"\n'
                 'bayes_opt = { fidelities = [0.25, 1.0], initial = 4, candidates = 2000 }\n',
    "aioli": 'method = "online"\nonline = { algorithm = "aioli", rounds = 8, step_size = 1.0, smoothing = 1e-3 }\n',
    "doremi": 'method = "online"\nonline = { algorithm = "doremi", rounds = 8, step_size = 1.0, smoothing = 1e-3 }\n',
}[method]
body = "".join(out).rstrip("\n") + "\n\n[mixture]\n" + table + common
parsed = tomllib.loads(body)  # a broken rewrite fails here, not inside blend
if seed:
    assert parsed["pipeline"]["seed"] == int(seed), "the [pipeline] seed was not rewritten"
open(dest, "w").write(body)
PY
}

# run_methods DIR BASE QUALITY LABEL [SEED]: each method over DIR's pipeline (its [pipeline]
# seed set to SEED when given), results to DIR/runs/.
run_methods() {
  local dir=$1 base=$2 quality=$3 label=$4 seed=${5:-} method start end
  mkdir -p "$dir/runs"
  if [ -n "${FRESH:-}" ]; then
    # Timings of every method from scratch: drop the proxy runs, keep curation.
    rm -rf "$dir/work/search" "$dir/runs"
    mkdir -p "$dir/runs"
  fi
  for method in $METHODS; do
    write_variant "$base" "$dir/pipeline.toml" "$method" "$quality" "$seed"
    mkdir -p "$dir/runs/$method"
    cp "$dir/pipeline.toml" "$dir/runs/$method/pipeline.toml"
    echo "== $label: $method" >&2
    # Which build ran it (another build may replace the binary between runs).
    stat -c '%y %s' "$BLEND" > "$dir/runs/$method/binary"
    start=$(date +%s.%N)
    if "$BLEND" -q run "$dir/pipeline.toml" --json > "$dir/runs/$method/run.json" 2> "$dir/runs/$method/stderr.txt"; then
      end=$(date +%s.%N)
      python3 -c "print(f'{$end - $start:.1f}')" > "$dir/runs/$method/wall_seconds"
      for f in report.json mixture.json run_summary.json report.html; do
        if [ -f "$dir/output/$f" ]; then cp "$dir/output/$f" "$dir/runs/$method/"; fi
      done
      echo "   $(cat "$dir/runs/$method/wall_seconds") s wall" >&2
    else
      echo "   FAILED (exit $?): $dir/runs/$method/stderr.txt" >&2
      tail -n 20 "$dir/runs/$method/stderr.txt" >&2
      echo failed > "$dir/runs/$method/wall_seconds"
    fi
  done
  print_table "$dir/runs" "$label"
}

print_table() {
  python3 - "$1" "$2" "$METHODS" "$STEPS" <<'PY'
import json, os, sys
runs, label, methods, steps = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
print(f"\n## {label}")
print(f'{"method":<10} | {"proxy runs":>16} | {"chosen (held-out loss)":>22} | {"natural":>17} | {"chosen − natural":>16} | {"wall s":>7}')
weights = []
for method in methods:
    d = os.path.join(runs, method)
    wall = open(os.path.join(d, "wall_seconds")).read().strip() if os.path.exists(os.path.join(d, "wall_seconds")) else "-"
    path = os.path.join(d, "report.json")
    if wall == "failed" or not os.path.exists(path):
        print(f'{method:<10} | {"failed":>16} | {"-":>22} | {"-":>17} | {"-":>16} | {wall:>7}')
        continue
    f = json.load(open(path))
    n = len(f["proxy_runs"])
    proxies = str(n)
    summary = os.path.join(d, "run_summary.json")
    if os.path.exists(summary):
        choice = json.load(open(summary)).get("mixture_choice") or {}
        mr = choice.get("method_runs") or {}
        if mr.get("steps"):
            # runs at a fidelity below 1: their steps in full runs' worth
            proxies = f'{n} ({sum(mr["steps"]) / steps:.2f} full)'
    v = f.get("validation")
    if v:
        chosen = f'{v["chosen_mean"]:.4f} ± {v["chosen_sd"]:.4f}'
        natural = f'{v["natural_mean"]:.4f} ± {v["natural_sd"]:.4f}'
        diff = f'{v["chosen_mean"] - v["natural_mean"]:+.4f}'
    else:
        chosen = natural = diff = "-"
    print(f'{method:<10} | {proxies:>16} | {chosen:>22} | {natural:>17} | {diff:>16} | {wall:>7}')
    weights.append((method, f["mixture"]["domains"]))
builds = {open(os.path.join(runs, m, "binary")).read().strip() for m in methods
          if os.path.exists(os.path.join(runs, m, "binary"))}
if len(builds) > 1:
    print(f"note: the binary changed between runs ({len(builds)} builds: {sorted(builds)})")
if weights:
    domains = [d["domain"] for d in weights[0][1]]
    print("\nchosen weights" + "".join(f" | {d[:14]:>14}" for d in domains))
    print(f'{"natural":<14}' + "".join(f' | {(d["natural"] if d["natural"] is not None else float("nan")):>14.4f}' for d in weights[0][1]))
    for method, ds in weights:
        by = {d["domain"]: d["chosen"] for d in ds}
        print(f"{method:<14}" + "".join(f" | {by.get(d, 0.0):>14.4f}" for d in domains))
PY
}

# run_corpus DIR BASE QUALITY LABEL SHARED...: the comparison over DIR, once in DIR itself
# (REPEATS=1, SEED0 unset), or once per pipeline seed in DIR/seed-<s>/ followed by the summary.
# SHARED are DIR's entries (inputs, classifier) that every seed folder links to.
run_corpus() {
  local dir=$1 base=$2 quality=$3 label=$4 seed0 i s sd entry
  shift 4
  if [ "$REPEATS" = 1 ] && [ -z "${SEED0:-}" ]; then
    run_methods "$dir" "$base" "$quality" "$label"
    return
  fi
  seed0=${SEED0:-$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["pipeline"].get("seed", 0))' "$base")}
  local folders=()
  for ((i = 0; i < REPEATS; i++)); do
    s=$((seed0 + i))
    sd=$dir/seed-$s
    mkdir -p "$sd"
    for entry in "$@"; do ln -sfn "../$entry" "$sd/$entry"; done
    if [ ! -d "$sd/work" ] && [ -d "$dir/work" ]; then
      # A warm start: steps are keyed by their content (the seed included) and checked by
      # checksum, so whatever the new seed changes is simply recomputed.
      cp -r "$dir/work" "$sd/work"
      rm -rf "$sd/work/search" "$sd/work/.lock"
    fi
    run_methods "$sd" "$base" "$quality" "$label, pipeline seed $s" "$s"
    folders+=("$s=$sd/runs")
  done
  print_summary "$label" "${folders[@]}"
}

# print_summary LABEL SEED=RUNS...: per method over the seeds' runs folders, the mean ± sd of
# chosen − natural, how many seeds the chosen mixture beat natural by more than both
# validation spreads, and the mean wall seconds.
print_summary() {
  python3 - "$METHODS" "$@" <<'PY'
import json, os, statistics, sys
methods, label, folders = sys.argv[1].split(), sys.argv[2], sys.argv[3:]
seeds = [f.split("=", 1)[0] for f in folders]
print(f"\n## {label}: summary over pipeline seeds {', '.join(seeds)}")
print(f'{"method":<10} | {"repeats":>7} | {"chosen − natural (mean ± sd)":>28} | {"beat natural beyond spread":>26} | {"mean wall s":>11}')
for method in methods:
    diffs, beats, walls, failed = [], 0, [], 0
    for folder in folders:
        d = os.path.join(folder.split("=", 1)[1], method)
        wf = os.path.join(d, "wall_seconds")
        wall = open(wf).read().strip() if os.path.exists(wf) else "failed"
        path = os.path.join(d, "report.json")
        if wall == "failed" or not os.path.exists(path):
            failed += 1
            continue
        walls.append(float(wall))
        v = json.load(open(path)).get("validation")
        if not v:
            continue
        diffs.append(v["chosen_mean"] - v["natural_mean"])
        if v["chosen_mean"] + v["chosen_sd"] < v["natural_mean"] - v["natural_sd"]:
            beats += 1
    n = len(diffs)
    if n:
        sd = f"{statistics.stdev(diffs):.4f}" if n > 1 else "-"
        diff = f"{statistics.mean(diffs):+.4f} ± {sd}"
    else:
        diff = "-"
    repeats = f"{n}" + (f" ({failed} failed)" if failed else "")
    beat = f"{beats}/{n}" if n else "-"
    wall = f"{statistics.mean(walls):.1f}" if walls else "-"
    print(f'{method:<10} | {repeats:>7} | {diff:>28} | {beat:>26} | {wall:>11}')
PY
}

# 1. The synthetic corpus: the demo's pipeline and classifier, written once.
SYN=$OUT/synthetic
if [[ " $CORPORA " == *" synthetic "* ]]; then
  if [ ! -f "$SYN/pipeline.toml" ] || [ ! -f "$SYN/quality_model.bin" ]; then
    start=$(date +%s)
    "$BLEND" -q demo --docs 3000 --seed 7 --out "$SYN" > "$OUT/demo.json"
    echo "blend demo: $(( $(date +%s) - start )) s wall" >&2
  fi
  [ -f "$SYN/demo-pipeline.toml" ] || cp "$SYN/pipeline.toml" "$SYN/demo-pipeline.toml"
  run_corpus "$SYN" "$SYN/demo-pipeline.toml" '["quality_score", "lang_score"]' \
    "synthetic corpus (3000 docs, seed 7)" corpus quality_model.bin
fi

# 2. The shared corpora, as bench/job/run.sh prepares them.
if [[ " $CORPORA " != *" web "* ]]; then
  exit 0
fi
if [ ! -d "$DATA/corpora" ]; then
  echo "skipping the shared corpora: $DATA/corpora is absent" >&2
  exit 0
fi
WEB=$OUT/web
mkdir -p "$WEB/data"
for corpus in web_dclm_quality web_dolma_cc wiki_wt103 books_gutenberg code_python_ruff \
              math_gsm8k chat_alpaca_eval qa_llm_foundry multilingual_udhr; do
  head -n "$DOCS_PER_FILE" "$DATA/corpora/$corpus.jsonl" > "$WEB/data/$corpus.jsonl"
done
cp examples/web_english/pipeline.toml "$WEB/web-pipeline.toml"
# bench/job/run.sh's curated work folder, when there is one, is a warm start: steps are keyed
# by their content and checked by checksum, so whatever does not match is simply recomputed.
JOB=$CARGO_TARGET_DIR/bench-job
if [ ! -d "$WEB/work" ] && [ -d "$JOB/work" ]; then
  cp -r "$JOB/work" "$WEB/work"
  rm -rf "$WEB/work/search" "$WEB/work/.lock"
  if [ -f "$JOB/quality_model.bin" ]; then cp "$JOB/quality_model.bin" "$WEB/quality_model.bin"; fi
fi
if [ ! -f "$WEB/quality_model.bin" ]; then
  "$BLEND" -q quality train --labels "$DATA/corpora/web_dclm_quality.jsonl" --label-column label \
    --model "$WEB/quality_model.bin" --seed 7 > /dev/null
fi
run_corpus "$WEB" "$WEB/web-pipeline.toml" '["quality_score"]' \
  "shared corpora (${DOCS_PER_FILE} docs per file)" data quality_model.bin
