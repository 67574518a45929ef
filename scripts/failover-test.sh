#!/usr/bin/env bash
# The failover test's long version: the whole primary node (keeper and postmaster) killed 10
# times, back and forth, the old primary rejoining each time, while signing clients stream loads,
# payments and cancellations; then every call is replayed and checked against the ledger
# (tests/failover/failover_test.cpp). The suite runs a short version (a postmaster, then a node).
# Override with EVOUCHER_FAILOVER_KILLS, EVOUCHER_FAILOVER_MODE (node, or both: postmaster and
# node in turn) and EVOUCHER_FAILOVER_SEED.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export EVOUCHER_FAILOVER_KILLS=${EVOUCHER_FAILOVER_KILLS:-10}
export EVOUCHER_FAILOVER_MODE=${EVOUCHER_FAILOVER_MODE:-node}
long_test failover_tests --gtest_filter='Failover.PrimaryKills*'
