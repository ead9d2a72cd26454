#!/usr/bin/env bash
# Installs the ONNX Runtime peer (npm onnxruntime-node, pinned in package.json) into this folder.
# Idempotent: does nothing when node_modules/onnxruntime-node is already there.
# --ignore-scripts skips the package's postinstall, which downloads optional GPU files and fails
# offline; the CPU library (bin/napi-v6/linux/x64/libonnxruntime.so.1) ships inside the npm package.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

if [[ -d node_modules/onnxruntime-node ]]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found (apt-get install nodejs npm)" >&2; exit 1; }

if [[ -f package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  npm install --ignore-scripts --no-audit --no-fund
fi
node -e "require('onnxruntime-node')" || { echo "install.sh: onnxruntime-node installed but does not load" >&2; exit 1; }
echo "install.sh: onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version") installed in $here/node_modules" >&2
