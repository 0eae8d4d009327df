#!/usr/bin/env bash
# Proxy training on a GPU machine: the device parity test, then blend's step loop against
# the same model in PyTorch (eager and torch.compile, bf16 autocast as blend's bf16 matmuls)
# for the tiny and regmix-1m presets, then several proxies in one process against one at a
# time. Prints a table with MFU (PEAK_TFLOPS: the GPU's dense bf16 peak; 989 for an H100
# SXM) and writes $OUT/results.jsonl.
#
# The GPU machine needs PyTorch and the CUDA 13 runtime libraries, not Rust: `make
# check-cuda` builds the binaries here and gathers them in gpu-kit/ (KIT overrides); carry
# the repository with gpu-kit/ and run `bash bench/proxy/gpu.sh` from its root there.
# STEPS, WARMUP, PROXIES and PEAK_TFLOPS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${KIT:-gpu-kit}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
STEPS=${STEPS:-60}
WARMUP=${WARMUP:-10}
PROXIES=${PROXIES:-4}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
PYTHON=${PYTHON:-python3}
# The kit's binaries come xz-compressed; Python's lzma unpacks them where xz is missing.
for binary in train_step device_parity; do
  if [ ! -x "$KIT/$binary" ] && [ -f "$KIT/$binary.xz" ]; then
    "$PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$KIT/$binary.xz" "$KIT/$binary"
    chmod +x "$KIT/$binary"
  fi
  [ -x "$KIT/$binary" ] || { echo "gpu.sh: no $KIT/$binary (see the top of this script)" >&2; exit 1; }
done
# The CUDA runtime libraries the binaries link (libcudart.so.13, cuBLAS, cuRAND, NVRTC):
# the system toolkit's, else those of Python's NVIDIA wheels (PyTorch brings most of them;
# cuRAND may need `pip install nvidia-curand`). Anything still missing is named, and stops.
LIBRARY_DIRS=$("$PYTHON" - <<'PY'
import glob, os
dirs = [d for d in sorted(glob.glob("/usr/local/cuda*/lib64")) + sorted(glob.glob("/usr/local/cuda*/targets/*/lib"))]
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
dirs += sorted({os.path.dirname(p) for root in roots for p in glob.glob(f"{root}/**/lib*.so*", recursive=True)})
print(":".join(dirs))
PY
)
export LD_LIBRARY_PATH="${LIBRARY_DIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
MISSING=$(ldd "$KIT/train_step" "$KIT/device_parity" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
if [ -n "$MISSING" ]; then
  echo "gpu.sh: the CUDA libraries $MISSING are not on this machine (searched $LIBRARY_DIRS)" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# MiniLM's half of the parity test needs its files (BLEND_MINILM_DIR; 90 MB, not in the
# kit); without them that half says it is skipped.
echo "== device parity (CPU reference vs CUDA)" >&2
"$KIT/device_parity" --nocapture --test-threads 1

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
run() { echo "$*" >&2; "$@" | tail -1 | tee -a "$RESULTS"; }
for config in "preset=tiny vocab=512 seq=64 batch=8" "preset=regmix-1m vocab=4096 seq=256 batch=16"; do
  # shellcheck disable=SC2086
  run "$KIT/train_step" --bench $config device=cuda steps="$STEPS" warmup="$WARMUP"
  for compile in 0 1; do
    # shellcheck disable=SC2086
    run "$PYTHON" bench/proxy/torch_step.py $config device=cuda steps="$STEPS" warmup="$WARMUP" compile="$compile"
  done
done
# Several regmix-1m proxies in one process, all at once, against one after the other.
for parallel in 1 "$PROXIES"; do
  run "$KIT/train_step" --bench preset=regmix-1m vocab=4096 seq=256 batch=16 device=cuda \
    steps="$STEPS" warmup="$WARMUP" proxies="$PROXIES" parallel="$parallel"
done
PEAK_TFLOPS=$PEAK_TFLOPS "$PYTHON" bench/proxy/table.py "$RESULTS"
echo "results: $RESULTS" >&2
