#!/usr/bin/env bash
# k-means: blend's kernel (k-means++ + Lloyd, and mini-batch) vs scikit-learn and faiss-cpu on
# the same seeded Gaussian blobs (N points, DIM dims, K clusters); inertia and seconds per mode.
# scikit-learn and faiss-cpu go in a venv under the target dir. N, DIM, K override the sizes;
# POINTS=FILE (raw little-endian f32, DIM per point) clusters real embeddings instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}  # cargo builds where the script reads
TARGET=$CARGO_TARGET_DIR
OUT=$TARGET/bench-cluster
VENV=$OUT/venv
N=${N:-100000}
DIM=${DIM:-64}
K=${K:-100}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import sklearn, faiss" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q scikit-learn numpy faiss-cpu
fi
cargo build --workspace --all-targets --quiet
BIN=$(ls -t "$TARGET"/debug/deps/kmeans-* | grep -v '\.d$' | head -1)
RESULTS=$OUT/results.jsonl
if [ -n "${POINTS:-}" ]; then
  # Real points (e.g. tfidf embeddings from bench/embed/run.sh): raw f32, DIM values each.
  cp "$POINTS" "$OUT/points.f32"
  N=$(( $(stat -c %s "$POINTS") / (4 * DIM) ))
  RAYON_NUM_THREADS=$THREADS "$BIN" --bench dim="$DIM" k="$K" points="$OUT/points.f32" | tee "$RESULTS"
else
  RAYON_NUM_THREADS=$THREADS "$BIN" --bench n="$N" dim="$DIM" k="$K" out="$OUT/points.f32" | tee "$RESULTS"
fi
"$VENV/bin/python" bench/cluster/kmeans_peer.py "$OUT/points.f32" "$N" "$DIM" "$K" "$THREADS" | tee -a "$RESULTS"
"$VENV/bin/python" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
base = {r["impl"].split(" ", 1)[1]: r for r in rows if r["impl"].startswith("scikit-learn")}
print(f"{'impl':<30}{'inertia':>14}{'vs sklearn':>11}{'iters':>7}{'seconds':>9}{'speed-up':>9}")
for r in rows:
    peer = base.get(r["impl"].split(" ", 1)[1])
    ratio = r["inertia"] / peer["inertia"] - 1 if peer else 0.0
    speed = peer["seconds"] / r["seconds"] if peer else 1.0
    print(f"{r['impl']:<30}{r['inertia']:>14.1f}{ratio:>+10.2%}{r['iterations']:>7}{r['seconds']:>9.2f}{speed:>8.2f}x")
PY
