#!/usr/bin/env bash
# `evoucher verify` on a ledger the money path made: builds, then runs bench/verify_bench.cpp on a
# private, durable PostgreSQL. Arguments: [payments] [members] (default 1000000 100000).
# Prints the time of verify against one read of every table it reads (the reference), as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cmake --build build --target verify_bench
exec build/verify_bench "$@"
