#!/usr/bin/env bash
# Tokenize + write Megatron shards: blend vs the Megatron preprocess_data.py approach (HF
# tokenizers in a 2-worker pool) vs tiktoken (2 threads), same GPT-2 tokenizer, same JSONL
# input (../shared/data/corpora), EOS after every document. Prints one table: documents,
# tokens, wall seconds, tokens/s, peak RSS, and whether the .bin equals blend's byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data="$repo/../shared/data"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"  # cargo builds where the script reads
target="$CARGO_TARGET_DIR"
venv="$target/bench-venv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
workers="${WORKERS:-2}"

if [ ! -d "$data/corpora" ]; then
  echo "skipping: $data/corpora is absent" >&2
  exit 0
fi
if ! "$venv/bin/python" -c "import tokenizers, tiktoken, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check tokenizers tiktoken numpy
fi
(cd "$repo" && cargo build -q --workspace --all-targets)
blend="$target/debug/blend"
inputs=("$data"/corpora/*.jsonl)
tokenizer="$data/tokenizers/gpt_2_tokenizer.json"

timed() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$label.time" "$@" > "$work/$label.out"
}

cat > "$work/pipeline.toml" <<TOML
[pipeline]
name = "bench-shards"
work_dir = "$work/blend-work"
out_dir = "$work/blend-out"
[[inputs]]
path = "$data/corpora"
[tokenizer]
path = "$tokenizer"
[output]
max_tokens_per_shard = 100000000000
TOML
timed blend "$blend" -q run "$work/pipeline.toml" --json
timed hf "$venv/bin/python" "$here/hf_preprocess.py" "$tokenizer" "$work/hf" "$workers" "${inputs[@]}"
timed tiktoken "$venv/bin/python" "$here/tiktoken_preprocess.py" "$data/tokenizers/gpt2_vocab.bpe" "$data/tokenizers/gpt2_encoder.json" "$work/tiktoken" "$workers" "${inputs[@]}"

blend_bin="$work/blend-out/shards/train_00000.bin"
"$venv/bin/python" - "$work" "$blend_bin" "$(du -cb "${inputs[@]}" | tail -1 | cut -f1)" <<'PY'
import hashlib, json, sys
work, blend_bin, input_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
blend_sha = sha(blend_bin)
blend = json.load(open(f"{work}/blend.out"))
rows = []
for label, bin_path, docs, tokens in [
    ("blend run (read + tokenize + write)", blend_bin, blend["documents_kept"], blend["tokens"]),
    ("python: HF tokenizers pool (Megatron way)", f"{work}/hf.bin", *json.load(open(f"{work}/hf.out")).values()),
    ("python: tiktoken batch", f"{work}/tiktoken.bin", *json.load(open(f"{work}/tiktoken.out")).values()),
]:
    label_key = {"blend run (read + tokenize + write)": "blend", "python: HF tokenizers pool (Megatron way)": "hf", "python: tiktoken batch": "tiktoken"}[label]
    seconds, rss_kb = open(f"{work}/{label_key}.time").read().split()
    rows.append((label, docs, tokens, float(seconds), tokens / float(seconds), int(rss_kb) / 1024, sha(bin_path) == blend_sha))
base = rows[0][4]
print(f"input: {input_bytes / 1e6:.1f} MB of JSONL")
print(f"| tool | docs | tokens | wall s | tokens/s | MB/s | peak RSS MB | blend is x faster | same .bin as blend |")
print(f"|---|---|---|---|---|---|---|---|---|")
for label, docs, tokens, seconds, rate, rss, same in rows:
    print(f"| {label} | {docs} | {tokens} | {seconds:.2f} | {rate:,.0f} | {input_bytes / 1e6 / seconds:.1f} | {rss:.0f} | {base / rate:.2f} | {same} |")
PY
