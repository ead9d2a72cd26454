#!/usr/bin/env bash
# Validates docker/k8s and docker/compose.yaml offline against their schemas (npm
# kubernetes-models for Kubernetes kinds, kserve-schemas.json for KServe's), see
# validate_manifests.mjs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -d "$here/node_modules/kubernetes-models" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent 2>/dev/null || npm install --no-audit --no-fund --silent)
fi
node "$here/validate_manifests.mjs" "$here/../../docker"
