#!/bin/sh
# Install the Debian 12 packages octcl builds, tests and runs with (as root).
# Usage: sudo scripts/install-deps.sh [--python]   (PyTorch, torchvision and onnx are always
# installed: the ONNX test suites export their models with them; --python adds matplotlib
# for the plots of bench/ and python/)
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
      libclblast-dev libcunit1-dev libcjson-dev zlib1g-dev dataset-fashion-mnist
      clang libclang-rt-14-dev libpng-dev libjpeg62-turbo-dev
      python3 python3-venv python3-numpy python3-setuptools python3-pytest python3-pil
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
      python3-torch python3-torchvision python3-onnx oclgrind
      libopenmpi-dev openmpi-bin strace"
if [ "${1:-}" = "--python" ]; then PKGS="$PKGS python3-matplotlib"; fi
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $PKGS
