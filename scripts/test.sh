#!/bin/sh
# Build octcl with warnings as errors and run every test suite (ctest).
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -DOCTCL_WERROR=ON
cmake --build build -j"$(nproc)"
cd build && ctest --output-on-failure -j"$(nproc)"
