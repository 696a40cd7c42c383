#!/usr/bin/env bash
# Runs on a lent GPU machine after scripts/device/pack.sh (see there): unpacks
# node and the npm packages, builds the addon against the machine's own
# PyTorch (its libtorch and headers, CUDA included), then records in $OUT:
# build info, the CUDA-relevant test files, the seed model's speed beside the
# Python Orthogonium on the same GPU (float32 and bf16-mixed), and a short
# Fashion-MNIST training run on the GPU. STEPS skips parts: any of
# "tests bench fmnist" (default all three); SKIP_BUILD=1 reuses the addon. TORCH_DIR overrides the torch folder (default: python3's), or
# TORCH_INCLUDE and TORCH_LIB name libtorch's folders directly.
set -uo pipefail
cd "$(dirname "$0")/../.."
DEV=.device
OUT="${OUT:-$DEV/out}"
mkdir -p "$OUT" "$DEV/bin"
step() { echo "== $1 ($(date +%T))" | tee -a "$OUT/steps.txt"; }

step "unpack"
if command -v xz >/dev/null; then xz -dc "$DEV/node.xz" > "$DEV/bin/node"
else python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$DEV/node.xz" "$DEV/bin/node"; fi
chmod +x "$DEV/bin/node"
export PATH="$PWD/$DEV/bin:$PATH"
if command -v xz >/dev/null; then tar -xJf "$DEV/node_modules.tar.xz"
else python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall()" "$DEV/node_modules.tar.xz"; fi
node --version | tee -a "$OUT/steps.txt"

step "build the addon"
# SKIP_BUILD=1 keeps the addon of an earlier call on the same (still warm) machine.
if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f build/Release/orthogonium_native.node ]; then
  if [ -z "${TORCH_INCLUDE:-}" ] || [ -z "${TORCH_LIB:-}" ]; then
    TORCH_DIR="${TORCH_DIR:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}"
    TORCH_INCLUDE="$TORCH_DIR/include" TORCH_LIB="$TORCH_DIR/lib"
  fi
  ABI="${CXX_ABI:-$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)}"
  TORCH_INCLUDE="$TORCH_INCLUDE" TORCH_LIB="$TORCH_LIB" NAPI_INCLUDE="$DEV/napi" CXX_ABI="$ABI" \
    bash scripts/build-addon-gxx.sh > "$OUT/build.txt" 2>&1 || { tail -40 "$OUT/build.txt"; exit 1; }
  grep -E 'NCCL|nccl' "$OUT/build.txt" || true
fi
node -e "import('./dist/src/torch/index.js').then((t) => console.log(JSON.stringify(t.buildInfo(), null, 1)))" > "$OUT/build-info.json" 2>&1
grep -E '"torchVersion"|"cudaAvailable"|"ncclAvailable"|"cudaDeviceCount"' "$OUT/build-info.json"

want() { [[ " ${STEPS:-tests bench fmnist} " == *" $1 "* ]]; }

if want tests; then
step "tests (CUDA cases run when a GPU is present)"
TESTS="${TESTS:-torch-creation torch-math torch-autograd torch-autocast torch-linalg torch-maxmin torch-functional torch-robustness \
  torch-serialization ortho-conv ortho-linear ortho-blocks losses-values certify-api attack-soundness models-lipschitz \
  data-pin-memory grad-scaler train-trainer distributed distributed-cuda cuda-parity train-ddp}"
files=(); for t in $TESTS; do files+=("dist/test/$t.test.js"); done
node --test --test-concurrency=1 "${files[@]}" > "$OUT/tests.txt" 2>&1
grep -E '^# (tests|pass|fail|skipped)|^not ok' "$OUT/tests.txt"
fi

if want bench; then
step "the seed model on the GPU beside Orthogonium (PyTorch) on the same GPU"
ORTHOGONIUM_SRC="$PWD/$DEV/python" SCHEDULEFREE_SRC="$PWD/$DEV/python" PYTHON="${PYTHON:-$(command -v python3)}" \
  node dist/bench/model.js --device="${BENCH_DEVICE:-cuda}" --steps="${BENCH_STEPS:-10}" ${BENCH_ARGS:-} > "$OUT/bench-model.json" 2> "$OUT/bench-model.log"
cat "$OUT/bench-model.log"
fi

if want fmnist; then
step "Fashion-MNIST on the GPU"
node dist/src/cli/main.js train --dataset fashion-mnist --data-dir "$DEV/fashion-mnist" --setting mildly_robust \
  --epochs "${EPOCHS:-2}" --batch-size 128 --device auto --precision "${PRECISION:-32}" --no-progress --out "$OUT/fmnist-run" \
  > "$OUT/fmnist.txt" 2>&1
tail -15 "$OUT/fmnist.txt"
fi
step "done"
