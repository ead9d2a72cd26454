#!/usr/bin/env bash
# Installs every system dependency of Sparrow from Debian 12 packages. Idempotent: packages already
# present are left alone, so a second run does nothing and needs no network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev libomp-dev           # libFuzzer targets
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers  # oneDNN 2.6 (OpenMP runtime); its CMake package wants OpenCL
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libopencv-dev                                 # image I/O and the OpenCV DNN reference
  nlohmann-json3-dev                            # JSON for CLI output and COCO files
  libcli11-dev                                  # command-line parsing
  libyaml-cpp-dev                               # dataset (data.yaml) and server config files
  libgrpc++-dev protobuf-compiler-grpc          # the gRPC server and client
  libmicrohttpd-dev                             # the server's Prometheus /metrics endpoint
  python3-grpcio python3-protobuf               # the Python client (stubs: protobuf-compiler-grpc)
  openssl                                       # certificates for the Python client's TLS test
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-onnx            # benchmark model generator
  nodejs                                        # ONNX Runtime peer (npm onnxruntime-node)
  time                                          # peak RSS in benchmarks
  buildah podman debootstrap                    # container build and smoke test (tests/container)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js images often carry their own npm; only fall back to Debian's when there is none.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
