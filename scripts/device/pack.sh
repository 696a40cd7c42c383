#!/usr/bin/env bash
# Prepares what a lent GPU machine (PyTorch, no Node.js, no network) needs to
# build and check the project, in .device/ (git-ignored), to be carried with
# `dist` by the device tool: carry [".device", "dist"], command
# `bash scripts/device/run.sh`. Contents: this machine's node binary (xz),
# the Node-API headers, the few npm packages the checked tests load, and a
# Fashion-MNIST subset in the official IDX format (train images trimmed to
# TRAIN_IMAGES, default 20000, to stay under the tool's 64 MiB), and the Python
# sources of Orthogonium and schedule_free for the benchmark's baseline
# (ORTHOGONIUM_SRC / SCHEDULEFREE_SRC, default: the fetched mirrors' HEAD).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEV=.device
TRAIN_IMAGES="${TRAIN_IMAGES:-20000}"
FMNIST="${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}"
rm -rf "$DEV" && mkdir -p "$DEV/napi" "$DEV/fashion-mnist"
[ -d dist ] || { echo "pack: build dist/ first (npm run build:ts)" >&2; exit 2; }

xz -T0 -6 -c "$(command -v node)" > "$DEV/node.xz"
for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do cp "/usr/include/node/$h" "$DEV/napi/"; done
# protobufjs's command-line tools (20 MB) are not needed to read ONNX protobufs.
tar -cJf "$DEV/node_modules.tar.xz" --exclude=node_modules/protobufjs/cli node_modules/node-addon-api node_modules/jpeg-js \
  node_modules/@resvg node_modules/onnx-proto node_modules/protobufjs node_modules/@protobufjs node_modules/long

# Fashion-MNIST: the test split whole, the first TRAIN_IMAGES training images and labels (IDX header count rewritten).
cp "$FMNIST"/t10k-* "$DEV/fashion-mnist/"
node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
const [dir, out, n] = process.argv.slice(1);
for (const [name, per] of [['train-images-idx3-ubyte', 28 * 28], ['train-labels-idx1-ubyte', 1]]) {
  const raw = gunzipSync(readFileSync(dir + '/' + name + '.gz'));
  const header = raw[3] * 4 + 4;  // magic (4 bytes, last = number of dimensions) + one uint32 per dimension
  const trimmed = Buffer.from(raw.subarray(0, header + Number(n) * per));
  trimmed.writeUInt32BE(Number(n), 4);
  writeFileSync(out + '/' + name + '.gz', gzipSync(trimmed, { level: 9 }));
}" "$FMNIST" "$DEV/fashion-mnist" "$TRAIN_IMAGES"
# The benchmark's baseline: Orthogonium and schedule_free are pure Python (their packages only, no tests or docs).
mkdir -p "$DEV/python"
python_source() {  # python_source SOURCE_DIR_OR_MIRROR_GIT_DIR PACKAGE
  if [ -d "$1/$2" ]; then cp -r "$1/$2" "$DEV/python/"
  elif [ -d "$1" ]; then git --git-dir="$1" archive HEAD "$2" | tar -x -C "$DEV/python"
  else echo "pack: no $2 source at $1 (fetch the repository, or set ORTHOGONIUM_SRC / SCHEDULEFREE_SRC)" >&2; exit 2; fi
}
python_source "${ORTHOGONIUM_SRC:-/work/.mirror/deel-ai+orthogonium/repo}" orthogonium
python_source "${SCHEDULEFREE_SRC:-/work/.mirror/facebookresearch+schedule_free/repo}" schedulefree
du -sh "$DEV" dist
echo "carry: [\".device\", \"dist\"]  command: bash scripts/device/run.sh"
