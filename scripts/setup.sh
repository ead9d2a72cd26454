#!/usr/bin/env bash
# Installs Sparrow's system dependencies from Debian 12 packages. Idempotent: packages already
# present are left alone, so a second run does nothing and needs no network.
# Usage: scripts/setup.sh [all|server]
#   all (default): everything: the tests, fuzzing, benchmarks and the container test too;
#   server: only what building the binaries (sparrow-server, sparrow-client, sparrow) needs, with
#           cmake -DSPARROW_BUILD_TESTS=OFF: what scripts/sparrow-server, scripts/sparrow and the
#           Dockerfile's build stage install.
set -euo pipefail
profile="${1:-all}"

server_packages=(
  g++ cmake ninja-build pkg-config
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers  # oneDNN 2.6 (OpenMP runtime); its CMake package wants OpenCL
  libonnx-dev libprotobuf-dev protobuf-compiler
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev  # image decoding and letterboxing
  nlohmann-json3-dev                            # JSON for CLI output and COCO files
  libcli11-dev                                  # command-line parsing
  libyaml-cpp-dev                               # dataset (data.yaml) and server config files
  libgrpc++-dev protobuf-compiler-grpc          # the gRPC server and client (and the Python client's stubs)
  libmicrohttpd-dev                             # the server's Prometheus /metrics endpoint
  libeigen3-dev                                 # compress --method obs: Cholesky and inverses of layer Hessians (header-only)
  libxbyak-dev                                  # JIT assembler (headers only) for the sparse INT8 kernels
)
test_packages=(
  build-essential ccache git
  clang libclang-rt-14-dev libomp-dev           # libFuzzer targets
  libonnx-testdata                              # ONNX's backend test cases (conformance tests)
  libopencv-dev                                 # OpenCV's CMake package and DNN: the reference the tests compare with
  python3-grpcio python3-protobuf               # the Python client
  openssl                                       # certificates for the TLS tests
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-onnx            # benchmark model generator
  python3-matplotlib                            # the compression study's plots
  nodejs                                        # ONNX Runtime peer (npm onnxruntime-node)
  time                                          # peak RSS in benchmarks
  buildah podman debootstrap                    # container build and smoke test (tests/container)
)

case "$profile" in
  server) packages=("${server_packages[@]}") ;;
  all) packages=("${server_packages[@]}" "${test_packages[@]}") ;;
  *) echo "setup: unknown profile '$profile' (all or server)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js images often carry their own npm; only fall back to Debian's when there is none.
if [[ "$profile" == all ]] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
