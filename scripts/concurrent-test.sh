#!/usr/bin/env bash
# The concurrent model test's long version: 120 s of clients, reviews and batches at once, with
# 10 SIGKILLs of the service; every call is retried under its key until it is judged, and at the
# end every balance, pool and payable must be what the answers imply (tests/model/concurrent_test.cpp).
# The suite runs a short version (25 s, no kills). Override with EVOUCHER_CONCURRENT_SECONDS and
# EVOUCHER_CONCURRENT_KILLS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export EVOUCHER_CONCURRENT_SECONDS=${EVOUCHER_CONCURRENT_SECONDS:-120}
export EVOUCHER_CONCURRENT_KILLS=${EVOUCHER_CONCURRENT_KILLS:-10}
long_test model_tests --gtest_filter='Concurrent.*'
