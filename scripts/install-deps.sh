#!/bin/sh
# Install the Debian 12 packages octcl builds, tests and runs with (as root).
# Usage: sudo scripts/install-deps.sh [--python]   (--python adds PyTorch for python/)
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
      libclblast-dev libcunit1-dev libcjson-dev zlib1g-dev dataset-fashion-mnist
      clang libclang-rt-14-dev"
if [ "${1:-}" = "--python" ]; then PKGS="$PKGS python3-torch python3-numpy python3-matplotlib"; fi
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $PKGS
