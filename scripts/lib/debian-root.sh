# Shared by the scripts that check the addon against another Debian suite's
# libtorch on this machine (check-libtorch2.sh, check-cuda-libtorch.sh):
# packages are downloaded with a private apt configuration and unpacked into
# a cache folder; nothing is installed and the system's apt state is untouched.
# Source this file; it defines functions only.

# debian_root CACHE SOURCES_LINE EXCLUDE_REGEX PACKAGE…
# Downloads PACKAGE… and their dependencies (minus names matching
# EXCLUDE_REGEX) and unpacks them into CACHE/root, once.
debian_root() {
  local cache="$1" source="$2" exclude="$3"; shift 3
  [ -f "$cache/unpacked" ] && return 0
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs"
  echo "$source" > "$cache/apt/sources.list"
  local apt=(-o Dir::Etc::sourcelist="$cache/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
             -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache="$cache/apt" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${apt[@]}" update -qq
  local packages
  packages=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" | grep '^\w' | sort -u | grep -v -E "$exclude")
  # shellcheck disable=SC2086
  (cd "$cache/debs" && apt-get "${apt[@]}" download $packages 2>&1 | grep -v unsandboxed | tail -1)
  rm -rf "$cache/root" && mkdir -p "$cache/root"
  local deb
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$cache/root"; done
  touch "$cache/unpacked"
}

# torch_include_links CACHE: CACHE/include holding only libtorch's (and gloo's)
# headers, so that the other suite's C library headers never replace this system's.
torch_include_links() {
  local cache="$1" dir
  mkdir -p "$cache/include"
  for dir in ATen c10 caffe2 torch gloo kineto; do
    [ -e "$cache/root/usr/include/$dir" ] && ln -sfn "$cache/root/usr/include/$dir" "$cache/include/$dir"
  done
  return 0
}

# debian_node CACHE LIB [DIR…]: CACHE/node, a copy of this node loaded by the other
# suite's dynamic loader, finding that suite's libraries first (DT_RPATH also
# reaches libtorch's own dependencies), so a libtorch built for a newer C library loads.
# DIR…: more library folders to search, after LIB's.
debian_node() {
  local cache="$1" lib="$2" path="$2:$2/openblas-pthread:$2/lapack" dir
  shift 2
  for dir in "$@"; do path="$path:$dir"; done
  command -v patchelf >/dev/null || apt-get install -y -qq patchelf
  cp "$(command -v node)" "$cache/node"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath \
    --set-rpath "$path" "$cache/node"
}
