#!/usr/bin/env bash
# Configures and builds evoucher into build/ (RelWithDebInfo). EVOUCHER_TESTS=ON or OFF sets whether
# the test targets are built; unset, an existing build/ keeps its choice (a new one builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
tests=()
[[ -n "${EVOUCHER_TESTS:-}" ]] && tests=(-DEVOUCHER_TESTS="$EVOUCHER_TESTS")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${tests[@]}" >/dev/null
cmake --build build --parallel "$(nproc)"
