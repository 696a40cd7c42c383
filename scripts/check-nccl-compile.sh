#!/usr/bin/env bash
# Checks, without a GPU, CUDA or NCCL installed, that the addon's NCCL process
# group (native/src/nccl_backend.cpp and the code that uses it) compiles
# against libtorch's ProcessGroupNCCL.hpp: CUDA's headers come from Debian's
# nvidia-cuda-dev (non-free, unpacked into .cache/cuda, nothing installed),
# NCCL's API from scripts/nccl-check/nccl.h. Checked against Debian 12's
# libtorch 1.13 and, when scripts/check-libtorch2.sh has unpacked it, 2.6.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="$PWD/.cache/cuda"
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial"
if [ ! -f "$CACHE/include/cuda_runtime_api.h" ]; then
  echo "deb http://deb.debian.org/debian bookworm non-free" > "$CACHE/apt/sources.list"
  APT=(-o Dir::Etc::sourcelist="$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
       -o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${APT[@]}" update -qq
  (cd "$CACHE" && apt-get "${APT[@]}" download nvidia-cuda-dev 2>&1 | grep -v unsandboxed | tail -1)
  rm -rf "$CACHE/unpacked" && mkdir -p "$CACHE/unpacked"
  dpkg-deb --fsys-tarfile "$CACHE"/nvidia-cuda-dev_*.deb | tar -x -C "$CACHE/unpacked" --wildcards './usr/include/*'
  rm -rf "$CACHE/include" && mv "$CACHE/unpacked/usr/include" "$CACHE/include" && rm -rf "$CACHE/unpacked" "$CACHE"/*.deb
fi

check() {  # check LABEL TORCH_INCLUDE
  echo "== $1"
  # Some CPU-only libtorch packages lack the generated c10/cuda macros header: scripts/nccl-check has it.
  TORCH_INCLUDE="$2" TORCH_LIB=/nonexistent SYNTAX_ONLY=1 ORTHO_NCCL=1 NCCL_INCLUDE="$PWD/scripts/nccl-check" \
    CUDA_INCLUDE="$CACHE/include" bash scripts/build-addon-gxx.sh
}
check "Debian 12's libtorch" /usr/include
if [ -d .cache/libtorch2/include/torch ]; then
  check "Debian 13's libtorch 2 (.cache/libtorch2)" .cache/libtorch2/include
fi
