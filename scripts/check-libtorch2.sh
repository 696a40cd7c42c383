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
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/debs"

command -v patchelf >/dev/null || apt-get install -y -qq patchelf

# A private apt configuration: the system's sources and state stay untouched.
echo "deb http://deb.debian.org/debian $SUITE main" > "$CACHE/apt/sources.list"
APT=(-o Dir::Etc::sourcelist="$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
     -o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt" -o Dir::State::status=/var/lib/dpkg/status)
if [ ! -f "$CACHE/unpacked" ]; then
  apt-get "${APT[@]}" update -qq
  packages=$(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances libtorch-dev libgomp1 libstdc++6 libc6 | grep '^\w' | sort -u |
    grep -v -e '^libopenblas0-serial$' -e '^libopenblas0-openmp$' -e '^libblis' -e '^python3' -e '^libpython3')
  (cd "$CACHE/debs" && apt-get "${APT[@]}" download $packages 2>&1 | grep -v unsandboxed | tail -1)
  rm -rf "$CACHE/root" && mkdir -p "$CACHE/root"
  for deb in "$CACHE"/debs/*.deb; do dpkg -x "$deb" "$CACHE/root"; done
  touch "$CACHE/unpacked"
fi

LIB="$CACHE/root/usr/lib/x86_64-linux-gnu"
# Only libtorch's own headers (and gloo's): Debian 13's C library headers must not replace this system's.
INC="$CACHE/include"
mkdir -p "$INC"
for dir in ATen c10 caffe2 torch gloo kineto; do
  [ -e "$CACHE/root/usr/include/$dir" ] && ln -sfn "$CACHE/root/usr/include/$dir" "$INC/$dir"
done
# The addon, without a run-time path: the node copy's RPATH finds Debian 13's libraries.
TORCH_INCLUDE="$INC" TORCH_LIB="$LIB" ADDON_OUT="$CACHE/orthogonium_native.node" RPATH=0 bash scripts/build-addon-gxx.sh

# node, loaded by Debian 13's dynamic loader, finds Debian 13's libraries first (DT_RPATH reaches libtorch's own deps).
cp "$(command -v node)" "$CACHE/node"
patchelf --set-interpreter "$LIB/ld-linux-x86-64.so.2" --force-rpath \
  --set-rpath "$LIB:$LIB/openblas-pthread:$LIB/lapack" "$CACHE/node"

export ORTHOGONIUM_NATIVE="$CACHE/orthogonium_native.node"
# Debian's libtorch 2.6 is built with MPI, which loads UCX; UCX's malloc/mmap hooks, on by default, were
# followed by crashes inside node's own heap in 2 of 62 test files, and by none with them off.
export UCX_MEM_MALLOC_HOOKS=no UCX_MEM_MMAP_HOOK_MODE=none
"$CACHE/node" -e "import('$ROOT/dist/src/torch/index.js').then((t) => console.log('addon loaded on libtorch', t.buildInfo().torchVersion))"
if [ "$#" -gt 0 ]; then files=("$@"); else files=(dist/test/*.test.js); fi
exec "$CACHE/node" --test --test-concurrency=1 "${files[@]}"
