#!/usr/bin/env bash
# Builds blend with `--features cuda` on a machine without a GPU, so the CUDA path cannot
# break unnoticed: `make check-cuda`. Safe to run any number of times.
#
#   1. nvcc, the CUDA headers and the runtime libraries from PyPI (CUDA 13) into the tools
#      venv (no GPU and no driver needed);
#   2. a link folder: unversioned links to those libraries (libcudart.so → libcudart.so.13,
#      …) and a stub libcuda.so (soname libcuda.so.1) defining every driver function cudarc
#      declares, each returning CUDA_ERROR_NO_DEVICE, since the driver itself ships with the
#      GPU's kernel module;
#   3. the `blend` binary, the proxy trainer's step benchmark and the device parity test
#      with `--features cuda`, into their own target folder ($CARGO_TARGET_DIR-cuda), so the
#      CPU build is never replaced; then gathers the last two, stripped and xz-compressed
#      (about 25 MB; candle's CUDA kernels make each binary 50–230 MB), into gpu-kit/
#      (ignored by git) for bench/proxy/gpu.sh.
#
# The binaries need the real libcuda.so.1 to start: carry gpu-kit/ to a machine with a GPU
# and run bench/proxy/gpu.sh there. CUDA_COMPUTE_CAP (default 90, Hopper) picks the kernels'
# architecture.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${BLEND_TOOLS_DIR:-$HOME/.cache/blend/tools}"
VENV="$TOOLS_DIR/venv"
LINK_DIR="$TOOLS_DIR/cuda-link"
CPU_TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/blend/target}"
export CARGO_TARGET_DIR="${CUDA_TARGET_DIR:-$CPU_TARGET-cuda}"
say() { printf 'check-cuda: %s\n' "$*" >&2; }

PACKAGES="nvidia-cuda-nvcc nvidia-cuda-runtime nvidia-cuda-cccl nvidia-cublas nvidia-curand nvidia-cuda-nvrtc"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
cuda_root() { "$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))' 2>/dev/null; }
CUDA_ROOT=$(cuda_root || true)
if [ -z "$CUDA_ROOT" ] || [ ! -x "$CUDA_ROOT/bin/nvcc" ] || [ ! -e "$CUDA_ROOT/lib/libcublas.so.13" ]; then
  say "installing CUDA 13 from PyPI into $VENV ($PACKAGES)"
  # shellcheck disable=SC2086
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check $PACKAGES; then
    # CI sets BLEND_CUDA_OPTIONAL=1: PyPI out of reach is not the change's fault, but it is
    # said loudly. By hand, it is a failure.
    say "could not install CUDA from PyPI: the CUDA build was NOT checked"
    [ "${BLEND_CUDA_OPTIONAL:-0}" = 1 ] && exit 0
    exit 1
  fi
  CUDA_ROOT=$(cuda_root)
fi
NVCC_VERSION=$("$CUDA_ROOT/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
say "nvcc $NVCC_VERSION at $CUDA_ROOT"

# cudarc 0.19 knows CUDA versions up to 13.4 and refuses newer ones: build against 13.4's
# API (the 13.x ABI is stable within the major version).
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13040}"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export CUDA_HOME="$CUDA_ROOT" CUDA_PATH="$CUDA_ROOT"
export PATH="$CUDA_ROOT/bin:$PATH"
# Headers: the toolkit's, and CCCL's (cub, thrust, libcu++) where the wheel puts them.
CPATH_EXTRA="$CUDA_ROOT/include"
[ -d "$CUDA_ROOT/include/cccl" ] && CPATH_EXTRA="$CPATH_EXTRA:$CUDA_ROOT/include/cccl"
export CPATH="$CPATH_EXTRA${CPATH:+:$CPATH}"

# The link folder: unversioned names for the wheel's libraries, and the driver stub.
mkdir -p "$LINK_DIR"
for library in "$CUDA_ROOT"/lib/lib*.so.*; do
  name=$(basename "$library")
  ln -sfn "$library" "$LINK_DIR/${name%%.so.*}.so"
done
cargo fetch --quiet
CUDARC_DIR=$(cargo metadata --format-version 1 --features blend-cli/cuda 2>/dev/null \
  | "$VENV/bin/python" -c 'import json, os, sys; m = json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "cudarc"))')
STUB_SOURCE="$LINK_DIR/libcuda_stub.c"
grep -rhoE '\bfn cu[A-Za-z0-9_]+\(' "$CUDARC_DIR/src/driver/sys" | sed 's/^fn //; s/($//' | sort -u \
  | awk '{ printf "int %s(void) { return 100; }\n", $1 }' > "$STUB_SOURCE.new"
if ! cmp -s "$STUB_SOURCE.new" "$STUB_SOURCE" || [ ! -e "$LINK_DIR/libcuda.so" ]; then
  mv "$STUB_SOURCE.new" "$STUB_SOURCE"
  say "driver stub: $(wc -l < "$STUB_SOURCE") functions declared by cudarc ($CUDARC_DIR)"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$LINK_DIR/libcuda.so" "$STUB_SOURCE"
  ln -sfn libcuda.so "$LINK_DIR/libcuda.so.1"
else
  rm -f "$STUB_SOURCE.new"
fi
export LIBRARY_PATH="$LINK_DIR${LIBRARY_PATH:+:$LIBRARY_PATH}"

say "building with --features cuda into $CARGO_TARGET_DIR"
cargo build --features blend-cli/cuda -p blend-cli --bin blend
cargo build --features blend-proxy-train/cuda -p blend-proxy-train --bench train_step
cargo test --no-run --features blend-tests/cuda -p blend-tests --test device_parity

KIT=gpu-kit
mkdir -p "$KIT"
newest() { ls -t "$CARGO_TARGET_DIR"/debug/deps/"$1"-* | grep -v '\.d$' | head -1; }
# xz, or Python's lzma where the xz tool is missing (the same format).
compress() {
  if command -v xz >/dev/null 2>&1; then
    xz -6 -T0 -f "$1"
  else
    "$VENV/bin/python" -c 'import lzma, shutil, sys; shutil.copyfileobj(open(sys.argv[1], "rb"), lzma.open(sys.argv[1] + ".xz", "wb", preset=6))' "$1"
    rm -f "$1"
  fi
}
for binary in train_step device_parity; do
  strip -o "$KIT/$binary" "$(newest "$binary")"
  compress "$KIT/$binary"
done
# The CUDA parity test must start and skip cleanly on this machine: run against the stub
# driver, every CUDA call reports no device.
LD_LIBRARY_PATH="$LINK_DIR:$CUDA_ROOT/lib" "$(newest device_parity)" --nocapture --test-threads 1 2>&1 \
  | tee "$LINK_DIR/parity-without-gpu.log" | grep -E "skipping|test result" >&2
grep -q "test result: ok" "$LINK_DIR/parity-without-gpu.log"
say "ok: $CARGO_TARGET_DIR/debug/blend built with CUDA, the parity test skips without a GPU; $KIT/ holds train_step.xz and device_parity.xz ($(du -sh "$KIT" | cut -f1)) for bench/proxy/gpu.sh; they need libcuda.so.1, the GPU driver's, to start"
