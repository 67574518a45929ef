#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for SECONDS seconds
# (default 20) from its seed corpus in tests/fuzz/corpus/<target>. New inputs go to
# build-fuzz/corpus/<target>, never into the repository. A finding fails the run and leaves its
# input in build-fuzz/findings/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_bodies fuzz_signature fuzz_router fuzz_rfc3339)

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOUCHER_FUZZ=ON >/dev/null
cmake --build build-fuzz --parallel "$(nproc)" --target "${targets[@]}"
mkdir -p build-fuzz/findings
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  # -print_final_stats shows the exec count; the log keeps only the summary lines.
  if ! "build-fuzz/tests/fuzz/$t" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/findings/$t-" >"build-fuzz/$t.log" 2>&1; then
    tail -n 60 "build-fuzz/$t.log" >&2
    echo "fuzz: $t found a fault; its input is in build-fuzz/findings/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "build-fuzz/$t.log" | tail -n 3
done
