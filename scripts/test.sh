#!/usr/bin/env bash
# The "test" command: installs, builds, and runs the whole suite with ctest (each test program
# starts and removes its own throwaway PostgreSQL), then the unit and API tests once more under
# ASan+UBSan (scripts/sanitize.sh), then each fuzz target for 20 s (scripts/fuzz.sh).
# Arguments go to the first ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
EVOUCHER_SETUP_TESTS=1 scripts/setup.sh
EVOUCHER_TESTS=ON scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900 "$@")
scripts/sanitize.sh
scripts/fuzz.sh 20
