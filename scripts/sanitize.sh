#!/usr/bin/env bash
# Builds the service and its tests with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and runs the unit and API tests there: every `evoucher serve` those tests start is
# the sanitized binary too. Any finding aborts the process it is in, and so fails a test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debug (-O0) compiles fastest; the tests wait on PostgreSQL far more than on the CPU.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEVOUCHER_SANITIZE=ON -DEVOUCHER_TESTS=ON >/dev/null
cmake --build build-asan --parallel "$(nproc)" --target evoucher engine_tests store_tests api_tests
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cd build-asan
ctest --output-on-failure --timeout 900 -R '^(engine_tests|store_tests|api_tests)$' "$@"
