#!/usr/bin/env bash
# One command for the benchmarks: builds, then times the cashback batch against COPY on a
# private, durable PostgreSQL. Arguments: [payments] [members] (default 1000000 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cmake --build build --target batch_bench
exec build/batch_bench "$@"
