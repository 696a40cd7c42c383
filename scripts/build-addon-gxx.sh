#!/usr/bin/env bash
# Builds the addon with g++ alone (no CMake, no cmake-js, nothing downloaded),
# with the flags and definitions of native/CMakeLists.txt's Release build.
# For machines without CMake or Node's headers (a lent GPU machine) and for
# scripts/check-libtorch2.sh.
#
#   TORCH_INCLUDE  folder holding ATen/, c10/, torch/ (libtorch's include/)      required
#   TORCH_LIB      folder holding libtorch.so, libtorch_cpu.so, libc10.so       required
#   NAPI_INCLUDE   folder holding node_api.h (default: /usr/include/node)
#   ADDON_OUT      the .node file to write (default: build/Release/orthogonium_native.node)
#   CXX_ABI        _GLIBCXX_USE_CXX11_ABI of that libtorch, 0 or 1 (default 1; pip wheels before 2.7 use 0)
#   RPATH          1 to record TORCH_LIB as the run-time search path (default 1)
#   ORTHO_NCCL     auto (default: with a CUDA libtorch and nccl.h found), 1 (required) or 0: the NCCL process group
#   NCCL_INCLUDE   folder holding nccl.h (default: python3's nvidia/nccl/include, /usr/include, /usr/local/cuda/include)
#   CUDA_INCLUDE   folders holding CUDA's headers, ':'-separated (default: /usr/local/cuda/include and python3's
#                  nvidia/*/include, as pip's CUDA wheels lay them out)
#   SYNTAX_ONLY    1 to check that every file compiles, without writing objects or the addon
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TORCH_INCLUDE:?set TORCH_INCLUDE to libtorch's include folder}"
: "${TORCH_LIB:?set TORCH_LIB to libtorch's lib folder}"
NAPI_INCLUDE="${NAPI_INCLUDE:-/usr/include/node}"
ADDON="${ADDON_OUT:-build/Release/orthogonium_native.node}"
CXX_ABI="${CXX_ABI:-1}"
NAA="$(cd node_modules/node-addon-api && pwd)"
[ -f "$NAPI_INCLUDE/node_api.h" ] || { echo "build-addon-gxx: no node_api.h in $NAPI_INCLUDE" >&2; exit 2; }
[ -f "$TORCH_INCLUDE/ATen/ATen.h" ] || { echo "build-addon-gxx: no ATen/ATen.h in $TORCH_INCLUDE" >&2; exit 2; }

includes=(-I"$TORCH_INCLUDE" -I"$TORCH_INCLUDE/torch/csrc/api/include" -I"$NAPI_INCLUDE" -I"$NAA")
# Same rule as CMake: supply the distributed-autograd declaration when libtorch lacks the header.
[ -f "$TORCH_INCLUDE/torch/csrc/distributed/autograd/context/context.h" ] || includes+=(-Inative/shim)
libs=(-L"$TORCH_LIB" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
# A CUDA libtorch: link torch_cuda although no symbol is referenced, or CUDA kernels never register.
if [ -f "$TORCH_LIB/libtorch_cuda.so" ]; then
  libs+=(-ltorch_cuda)
  [ -f "$TORCH_LIB/libc10_cuda.so" ] && libs+=(-lc10_cuda)
  defines_cuda=(-DORTHO_HAS_CUDA_LIB=1)
else
  defines_cuda=()
fi
libs+=(-Wl,--as-needed)

# NCCL's process group: its header needs CUDA's and NCCL's headers besides libtorch's.
nccl_defines=()
NCCL_MODE="${ORTHO_NCCL:-auto}"
if [ "$NCCL_MODE" = 1 ] || { [ "$NCCL_MODE" = auto ] && [ ${#defines_cuda[@]} -gt 0 ]; }; then
  pip_nvidia="$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null || true)"
  if [ -z "${NCCL_INCLUDE:-}" ]; then
    for dir in "$pip_nvidia/nccl/include" /usr/include /usr/local/cuda/include; do
      [ -f "$dir/nccl.h" ] && { NCCL_INCLUDE="$dir"; break; }
    done
  fi
  cuda_dirs="${CUDA_INCLUDE:-/usr/local/cuda/include$(for d in "$pip_nvidia"/*/include; do [ -d "$d" ] && printf ':%s' "$d"; done)}"
  if [ -n "${NCCL_INCLUDE:-}" ] && [ -f "$NCCL_INCLUDE/nccl.h" ]; then
    nccl_defines=(-DORTHO_WITH_NCCL=1 -I"$NCCL_INCLUDE")
    IFS=: read -ra cuda_list <<< "$cuda_dirs"
    for d in "${cuda_list[@]}"; do [ -n "$d" ] && [ -d "$d" ] && nccl_defines+=(-I"$d"); done
    echo "build-addon-gxx: NCCL process group with $NCCL_INCLUDE/nccl.h"
  elif [ "$NCCL_MODE" = 1 ]; then
    echo "build-addon-gxx: ORTHO_NCCL=1 but no nccl.h found (set NCCL_INCLUDE)" >&2; exit 2
  else
    echo "build-addon-gxx: no nccl.h found: building without the NCCL process group (set NCCL_INCLUDE)"
  fi
fi
[ "${RPATH:-1}" = 1 ] && libs+=(-Wl,-rpath,"$TORCH_LIB")

objects="$(dirname "$ADDON")/obj"
mkdir -p "$objects"
compile() {  # compile SOURCE [extra flags…]
  local src="$1"; shift
  local out=(-c "$src" -o "$objects/$(basename "$src" .cpp).o")
  [ "${SYNTAX_ONLY:-0}" = 1 ] && out=(-fsyntax-only "$src")
  g++ -std=c++17 -O3 -DNDEBUG -fPIC -fopenmp -Wall -Wno-unused-parameter -D_GLIBCXX_USE_CXX11_ABI="$CXX_ABI" \
    -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DUSE_DISTRIBUTED -DUSE_C10D_GLOO \
    "${defines_cuda[@]}" "${includes[@]}" "$@" "${out[@]}"
}
pids=()
for src in native/src/*.cpp; do
  if [ "$(basename "$src")" = nccl_backend.cpp ] && [ ${#nccl_defines[@]} -gt 0 ]; then
    # A machine's CUDA headers may not suit this libtorch: in auto mode fall back to a build without NCCL.
    { compile "$src" "${nccl_defines[@]}" || { [ "$NCCL_MODE" = auto ] &&
        echo "build-addon-gxx: the NCCL process group did not compile: building without it" >&2 && compile "$src"; }; } &
  else
    compile "$src" &
  fi
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { echo "build-addon-gxx: compilation failed" >&2; exit 1; }
[ "${SYNTAX_ONLY:-0}" = 1 ] && { echo "build-addon-gxx: every file compiles"; exit 0; }
g++ -shared -fopenmp "$objects"/*.o -o "$ADDON.tmp" "${libs[@]}"
mv "$ADDON.tmp" "$ADDON"
echo "built $ADDON"
