#!/usr/bin/env bash
# Sets up orthogonium-ts on Debian/Ubuntu: system packages (libtorch, OpenBLAS, libjpeg-turbo,
# the offline Fashion-MNIST, chromium for the browser test), npm dependencies, the native addon and the
# TypeScript build. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libgloo-dev libopenblas0-pthread libjpeg62-turbo-dev dataset-fashion-mnist cmake g++ make chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# onnxruntime-node ships its CPU binaries in the package; skip its optional CUDA download (offline).
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
