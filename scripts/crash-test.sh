#!/usr/bin/env bash
# The crash test's long version: 20 SIGKILLs of the service and 3 immediate PostgreSQL stops
# while a signing client streams 15,000 loads, payments and cancellations; then every call is
# replayed and checked against the ledger (tests/crash/crash_test.cpp). The suite runs a short
# version. Override with EVOUCHER_CRASH_OPERATIONS, _KILLS, _PG_STOPS and _SEED.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export EVOUCHER_CRASH_OPERATIONS=${EVOUCHER_CRASH_OPERATIONS:-15000}
export EVOUCHER_CRASH_KILLS=${EVOUCHER_CRASH_KILLS:-20}
export EVOUCHER_CRASH_PG_STOPS=${EVOUCHER_CRASH_PG_STOPS:-3}
long_test crash_tests
