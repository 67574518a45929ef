#!/usr/bin/env bash
# Configures and builds evoucher into build/ (RelWithDebInfo; EVOUCHER_TESTS=OFF skips the test targets).
set -euo pipefail
cd "$(dirname "$0")/.."
tests=${EVOUCHER_TESTS:-ON}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOUCHER_TESTS="$tests" >/dev/null
cmake --build build --parallel "$(nproc)"
