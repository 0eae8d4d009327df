#!/usr/bin/env bash
# The whole batch job on real text: examples/web_english/pipeline.toml over the shared
# corpora (DCLM and Dolma web pages, WikiText, Gutenberg, Python, GSM8K, AlpacaEval, LLM
# Foundry QA, UDHR), the first DOCS_PER_FILE documents of each. Prints the funnel, each
# stage's and step's cost, the searched mixture against the natural one (predicted and
# validated held-out loss) and where the report is. Run it twice to see the cache at work.
# DATA (default ../shared/data) and DOCS_PER_FILE (default 1000) override; everything is
# written under $CARGO_TARGET_DIR/bench-job, never into the project.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}
DATA=${DATA:-../shared/data}
DOCS_PER_FILE=${DOCS_PER_FILE:-1000}
if [ ! -d "$DATA/corpora" ]; then
  echo "skipping: $DATA/corpora is absent" >&2
  exit 0
fi
OUT=$CARGO_TARGET_DIR/bench-job
mkdir -p "$OUT/data"
cargo build --workspace --all-targets --quiet
BLEND=$CARGO_TARGET_DIR/debug/blend
for corpus in web_dclm_quality web_dolma_cc wiki_wt103 books_gutenberg code_python_ruff \
              math_gsm8k chat_alpaca_eval qa_llm_foundry multilingual_udhr; do
  head -n "$DOCS_PER_FILE" "$DATA/corpora/$corpus.jsonl" > "$OUT/data/$corpus.jsonl"
done
cp examples/web_english/pipeline.toml "$OUT/pipeline.toml"
if [ ! -f "$OUT/quality_model.bin" ]; then
  "$BLEND" quality train --labels "$DATA/corpora/web_dclm_quality.jsonl" --label-column label \
    --model "$OUT/quality_model.bin" --seed 7 > /dev/null
fi
start=$(date +%s)
"$BLEND" run "$OUT/pipeline.toml" --json > "$OUT/run.json"
echo "blend run: $(( $(date +%s) - start )) s wall"
python3 - "$OUT/output/report.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print("stage                 docs in  docs out     wall    docs/s   MB/s  peak RSS")
for s in f["funnel"]:
    fmt = lambda v, spec: format(v, spec) if v is not None else "-"
    print(f'{s["stage"]:<20} {s["rows_in"]:>8} {s["rows_out"]:>9} {fmt(s["seconds"], "7.1f")} s '
          f'{fmt(s["rows_per_second"], "9.0f")} {fmt(s["mb_per_second"], "6.2f")} {fmt(s["peak_rss_mb"], "6.0f")} MB')
for s in f["steps"]:
    fmt = lambda v, spec: format(v, spec) if v is not None else "-"
    print(f'{s["step"]:<20} {"(reused)" if s["reused_in_this_run"] else "":>18} '
          f'{fmt(s["seconds"], "7.1f")} s {"":>16} {fmt(s["peak_rss_mb"], "6.0f")} MB')
m = f["mixture"]
print("domain            natural    chosen   tokens   epochs")
for d in m["domains"]:
    print(f'{d["domain"]:<16} {d["natural"]:>8.4f} {d["chosen"]:>9.4f} {d["tokens_drawn"]:>8} {d["epochs"]:>8.2f}')
r = f["regressor"]
print(f'regressor {r["kind"]} on {r["runs"]} runs: out-of-fold Spearman {r["spearman"]:.3f}')
print(f'predicted {m["predicted_target"]}: chosen {m["predicted"]:.4f}, natural {m["natural_predicted"]:.4f}')
v = f["validation"]
print(f'validated ({v["steps"]} steps, {len(v["seeds"])} seeds): chosen {v["chosen_mean"]:.4f} ± {v["chosen_sd"]:.4f}, '
      f'natural {v["natural_mean"]:.4f} ± {v["natural_sd"]:.4f}')
PY
echo "report: $OUT/output/report.html"
