#!/usr/bin/env bash
# The "test" command: installs, builds, and runs the whole suite with ctest.
# Each test program starts and removes its own throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
EVOUCHER_SETUP_TESTS=1 scripts/setup.sh
EVOUCHER_TESTS=ON scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 "$@"
