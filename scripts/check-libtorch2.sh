#!/usr/bin/env bash
# Builds the addon against libtorch 2 and runs the test suite on it, on this
# Debian 12 machine, from Debian packages only: Debian 13's libtorch 2.6
# (headers and libraries, with their dependencies) is unpacked into
# .cache/libtorch2 (nothing is installed), the addon is compiled against it,
# and a copy of node is pointed at Debian 13's C library so that libtorch 2.6
# loads. Usage: bash scripts/check-libtorch2.sh [test files…] (default: all).
# Needs: the project set up (scripts/setup.sh), dist/ built, patchelf.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CACHE="$ROOT/.cache/libtorch2"
SUITE="${LIBTORCH2_SUITE:-trixie}"
# shellcheck source=lib/debian-root.sh
source scripts/lib/debian-root.sh

debian_root "$CACHE" "deb http://deb.debian.org/debian $SUITE main" \
  '^(libopenblas0-serial|libopenblas0-openmp|libblis.*|python3.*|libpython3.*)$' \
  libtorch-dev libgomp1 libstdc++6 libc6
LIB="$CACHE/root/usr/lib/x86_64-linux-gnu"
torch_include_links "$CACHE"
# The addon, without a run-time path: the node copy's RPATH finds Debian 13's libraries.
TORCH_INCLUDE="$CACHE/include" TORCH_LIB="$LIB" ADDON_OUT="$CACHE/orthogonium_native.node" RPATH=0 \
  bash scripts/build-addon-gxx.sh
debian_node "$CACHE" "$LIB"

export ORTHOGONIUM_NATIVE="$CACHE/orthogonium_native.node"
# Debian's libtorch 2.6 is built with MPI, which loads UCX; UCX's malloc/mmap hooks, on by default, were
# followed by crashes inside node's own heap in 2 of 62 test files, and by none with them off.
export UCX_MEM_MALLOC_HOOKS=no UCX_MEM_MMAP_HOOK_MODE=none
"$CACHE/node" -e "import('$ROOT/dist/src/torch/index.js').then((t) => console.log('addon loaded on libtorch', t.buildInfo().torchVersion))"
if [ "$#" -gt 0 ]; then files=("$@"); else files=(dist/test/*.test.js); fi
exec "$CACHE/node" --test --test-concurrency=1 "${files[@]}"
