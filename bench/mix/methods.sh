#!/usr/bin/env bash
# The closed-loop mixture methods side by side at equal proxy budgets: RegMix search,
# QuaDMix, multi-fidelity Bayesian optimisation, and online reweighting (Aioli, DoReMi), each
# as `[mixture] method` of the same pipeline file, on two corpora:
#   1. the synthetic corpus (`blend demo --docs 3000 --seed 7`, its pipeline and classifier);
#   2. the shared corpora as bench/job/run.sh prepares them (examples/web_english over
#      DATA/corpora, DOCS_PER_FILE documents of each file); skipped when DATA/corpora is absent.
# Every method spends PROXIES × STEPS optimizer steps of proxy training and is validated with
# the same `validate = { steps = VALIDATE_STEPS, seeds = SEEDS }`. All runs of a corpus share
# one work folder, so curation and the proxies' token streams are computed once; only the
# [mixture] table differs. After each run output/report.json, output/mixture.json and
# output/run_summary.json are copied to runs/<method>/, and one table per corpus is printed:
# method | proxy runs | validated held-out loss of the chosen and the natural mixture (mean ±
# sd over seeds) | chosen − natural | wall seconds, then each method's chosen weights.
# DATA (default ../shared/data), DOCS_PER_FILE (1000), PROXIES (12), STEPS (100),
# VALIDATE_STEPS (300), SEEDS (3) and METHODS (all five) override; FRESH=1 drops each
# corpus's cached proxy runs first (curation stays cached), so every wall time is a full
# run's; NO_BUILD=1 skips `cargo build`. Everything is written under
# $CARGO_TARGET_DIR/bench-methods, never into the project.
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
OUT=$CARGO_TARGET_DIR/bench-methods
mkdir -p "$OUT"
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --workspace --all-targets --quiet
fi
BLEND=$CARGO_TARGET_DIR/debug/blend

# write_variant BASE DEST METHOD QUALITY: BASE's pipeline file with its [mixture] table (and
# its [mixture.*] subtables) replaced by METHOD's at the shared budget. QUALITY is the TOML
# list of QuaDMix's quality columns.
write_variant() {
  python3 - "$@" "$PROXIES" "$STEPS" "$VALIDATE_STEPS" "$SEEDS" <<'PY'
import re, sys, tomllib
base, dest, method, quality, proxies, steps, vsteps, seeds = sys.argv[1:]
text = open(base).read()
lines, out, skipping = text.splitlines(keepends=True), [], False
for line in lines:
    header = re.match(r'^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$', line)
    if header:
        skipping = header.group(1) == "mixture" or header.group(1).startswith("mixture.")
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
tomllib.loads(body)  # a broken rewrite fails here, not inside blend
open(dest, "w").write(body)
PY
}

# run_methods DIR BASE QUALITY LABEL: each method over DIR's pipeline, results to DIR/runs/.
run_methods() {
  local dir=$1 base=$2 quality=$3 label=$4 method start end
  mkdir -p "$dir/runs"
  if [ -n "${FRESH:-}" ]; then
    # Timings of every method from scratch: drop the proxy runs, keep curation.
    rm -rf "$dir/work/search" "$dir/runs"
    mkdir -p "$dir/runs"
  fi
  for method in $METHODS; do
    write_variant "$base" "$dir/pipeline.toml" "$method" "$quality"
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

# 1. The synthetic corpus: the demo's pipeline and classifier, written once.
SYN=$OUT/synthetic
if [ ! -f "$SYN/pipeline.toml" ] || [ ! -f "$SYN/quality_model.bin" ]; then
  start=$(date +%s)
  "$BLEND" -q demo --docs 3000 --seed 7 --out "$SYN" > "$OUT/demo.json"
  echo "blend demo: $(( $(date +%s) - start )) s wall" >&2
fi
[ -f "$SYN/demo-pipeline.toml" ] || cp "$SYN/pipeline.toml" "$SYN/demo-pipeline.toml"
run_methods "$SYN" "$SYN/demo-pipeline.toml" '["quality_score", "lang_score"]' \
  "synthetic corpus (3000 docs, seed 7)"

# 2. The shared corpora, as bench/job/run.sh prepares them.
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
run_methods "$WEB" "$WEB/web-pipeline.toml" '["quality_score"]' \
  "shared corpora (${DOCS_PER_FILE} docs per file)"
