#!/usr/bin/env bash
# Container smoke test, offline apart from Debian's mirror: makes a Debian bookworm base image
# (debootstrap + podman import: no registry is needed), builds docker/Dockerfile with buildah,
# checks what the runtime image holds, runs sparrow-server inside it on loopback, drives it from
# the host with sparrow-client (health, detect, benchmark), and stops it with SIGTERM. Its images
# and containers live in a container store of its own under a temporary folder, so it never sees
# or removes the host's, and cleaning up removes that store whole. Needs root (buildah's chroot isolation) and the host build of
# sparrow-client (build/clients/cli/sparrow-client).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${SPARROW_SHARED_DIR:-$root/../shared}"
client="${SPARROW_CLIENT:-$root/build/clients/cli/sparrow-client}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ $(id -u) -ne 0 ]]; then
  exec sudo --preserve-env=SPARROW_SHARED_DIR,SPARROW_CLIENT,DEBIAN_MIRROR,STORAGE_DRIVER "$0" "$@"  # STORAGE_DRIVER=vfs where overlayfs is missing
fi
for tool in debootstrap buildah podman; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done
[[ -x "$client" ]] || { echo "smoke: $client not found; build first (scripts/build.sh)" >&2; exit 1; }

tag="sparrow-smoke-$$"
base="localhost/$tag-base:bookworm"
image="localhost/$tag:latest"
work="$(mktemp -d /var/tmp/sparrow-smoke.XXXXXX)"
container=""
server_pid=""

# buildah and podman on the test's own store (images, layers, containers, run state).
store="$work/store"
buildah() { command buildah --root "$store/root" --runroot "$store/run" "$@"; }
podman() { command podman --root "$store/root" --runroot "$store/run" --tmpdir "$store/tmp" "$@"; }

cleanup() {
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null || true
  [[ -n "$container" ]] && buildah rm "$container" >/dev/null 2>&1 || true
  # Whatever a failed build left mounted in the store, deepest first, so rm -rf never walks into a
  # mount; then the store goes with the rest of $work.
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s (%ds)\n' "$1" "$SECONDS"; }
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "base image: debootstrap --variant=minbase bookworm, podman import"
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*  # debootstrap's downloads
tar -C "$work/rootfs" -c . | podman import --quiet - "$base" >/dev/null
rm -rf "$work/rootfs"

step "build docker/Dockerfile with buildah (build stage compiles Sparrow)"
# Docker format: OCI image configs have no HEALTHCHECK, and the test runs the image's own.
buildah build --isolation chroot --layers=false --format docker --build-arg BUILD_BASE="$base" --build-arg RUNTIME_BASE="$base" \
  -f "$root/docker/Dockerfile" -t "$image" "$root" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "image build"; }

step "runtime image contents"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image size: $((size / 1024 / 1024)) MiB (base debootstrap minbase layer included)"
user=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$image")
[[ "$user" == "sparrow" ]] || fail "image user is '$user', not sparrow"
container=$(buildah from "$image")
buildah run --isolation chroot "$container" -- dpkg-query -W -f '${Package}\n' >"$work/packages.txt"
echo "$(wc -l <"$work/packages.txt") packages installed"
if grep -E '^(gcc(-[0-9]+)?|g\+\+(-[0-9]+)?|cpp(-[0-9]+)?|clang.*|cmake|make|ninja-build|libc6-dev|.*-dev)$' "$work/packages.txt"; then
  fail "compilers or development packages in the runtime image (listed above)"
fi
headers=$(buildah run --isolation chroot "$container" -- sh -c 'find /usr/include /usr/local/include -name "*.h*" 2>/dev/null | wc -l')
[[ "$headers" -eq 0 ]] || fail "$headers header files in the runtime image"
unresolved=$(buildah run --isolation chroot "$container" -- sh -c 'ldd /usr/local/bin/* | grep "not found" || true')
[[ -z "$unresolved" ]] || fail "libraries missing in the runtime image: $unresolved"
uid=$(buildah run --isolation chroot "$container" -- id -u)
[[ "$uid" -ne 0 ]] || fail "the container runs as root"
echo "no compilers, no -dev packages, no headers; every library resolves; runs as uid $uid"

step "start sparrow-server inside the image (model mounted at /models)"
port=$(free_port)
metrics=$(free_port)
buildah run --isolation chroot -v "$shared/models:/models:ro" "$container" -- \
  /usr/local/bin/sparrow-server --port "$port" --metrics-port "$metrics" --max-batch-size 4 >"$work/server.log" 2>&1 &
run_pid=$!
"$client" -s "127.0.0.1:$port" health --wait 300 || { cat "$work/server.log"; fail "server never became SERVING"; }
# Anchored: the root `buildah run` process carries the same arguments after its own.
server_pid=$(pgrep -f "^/usr/local/bin/sparrow-server --port $port " | head -1)
[[ -n "$server_pid" ]] || fail "no sparrow-server process found"
server_user=$(ps -o uid= -p "$server_pid" | tr -d ' ')
[[ "$server_user" -ne 0 ]] || fail "the server process runs as root"
echo "server pid $server_pid runs as uid $server_user"
# The image's own HEALTHCHECK command, run against the server (it reads SPARROW_PORT).
healthcheck=$(buildah inspect --type image "$image" | /usr/bin/python3 -c '
import json, sys
def find(o):  # the Healthcheck object, wherever this buildah version puts the Docker config
    if isinstance(o, dict):
        for k, v in o.items():
            if k.lower() == "healthcheck" and isinstance(v, dict) and v.get("Test"):
                return v["Test"]
            found = find(v)
            if found:
                return found
test = find(json.load(sys.stdin)) or []
assert test[:1] == ["CMD"], test
print("\n".join(test[1:]))') || fail "the image has no exec-form HEALTHCHECK"
mapfile -t check_cmd <<<"$healthcheck"
echo "image HEALTHCHECK: ${check_cmd[*]}"
buildah run --isolation chroot --env SPARROW_PORT="$port" "$container" -- "${check_cmd[@]}" ||
  fail "the image's HEALTHCHECK fails against the running server"

step "detect bus.jpg through the container"
"$client" -s "127.0.0.1:$port" detect "$shared/data/images/bus.jpg"
"$client" -s "127.0.0.1:$port" detect "$shared/data/images/bus.jpg" --json >"$work/detections.json"
/usr/bin/python3 - "$work/detections.json" <<'PY' || fail "detections differ from the expected bus.jpg result"
import json, sys
result = json.load(open(sys.argv[1]))
image = result[0] if isinstance(result, list) else result
found = sorted(d["class_name"] for d in image["detections"])
assert found == ["bus", "person", "person", "person"], found
PY

step "benchmark inside the container"
"$client" -s "127.0.0.1:$port" benchmark --time 3 --warmup 1 --json "$work/benchmark.json"
/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['items_per_second'] > 0 and r['iterations'] > 0, r" \
  "$work/benchmark.json" || fail "benchmark figures"
/usr/bin/python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
  "http://127.0.0.1:$metrics/metrics" | grep -E '^sparrow_request_total' || fail "no metrics from the container"

step "SIGTERM: drain and exit 0"
kill -TERM "$server_pid"
if wait "$run_pid"; then code=0; else code=$?; fi
server_pid=""
cat "$work/server.log" | tail -4
[[ "$code" -eq 0 ]] || fail "server exited with $code after SIGTERM"
grep -q "answered" "$work/server.log" || fail "no drain report in the log"
printf '\nsmoke: PASS in %ds\n' "$SECONDS"
