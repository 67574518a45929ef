#!/usr/bin/env bash
# Mutation testing: applies each mutant of scripts/mutants.txt, one at a time, to a copy of the
# tree in build-mutants/, and runs the fast part of the suite on it: the engine tests, the store
# tests, the model test with 3,000 operations, then the API tests. Each suite is built just
# before it runs, and the first one that fails kills the mutant, so a mutant in the engine costs
# one file's rebuild and a few seconds. A mutant survives only when all four pass. Prints each
# verdict and the score; exits 1 when a mutant survives or no longer applies.
#   scripts/mutants.sh [PATTERN]   (only the mutants whose line matches PATTERN)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build-mutants
pattern=${1:-}
EVOUCHER_SETUP_TESTS=1 scripts/setup.sh
mkdir -p "$work/tree"
# The copy: sources only, refreshed from the tree each run.
tar --exclude=./build --exclude=./build-asan --exclude=./build-fuzz --exclude=./build-mutants --exclude=./var \
    --exclude=./.git -cf - . | (cd "$work/tree" && tar -xf -)
# A run stopped with a mutant in place left objects built from it. The copy above restored the
# file with its old time, which the build would take for unchanged: mark it changed.
if [[ -s "$work/applied" ]]; then touch "$work/tree/$(cat "$work/applied")"; fi
rm -f "$work/applied"
cmake -S "$work/tree" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOUCHER_TESTS=ON >/dev/null
suites=(engine_tests store_tests model_tests api_tests)
build() { cmake --build "$work/build" --parallel "$(nproc)" --target evoucher "$@" >/dev/null; }
# Builds and runs each suite in turn; returns 2 when a build fails, 1 when a test fails.
fast_suite() {
  : >"$work/last.log"
  local suite
  for suite in "${suites[@]}"; do
    build "$suite" || return 2
    (cd "$work/build" && EVOUCHER_MODEL_OPERATIONS=3000 EVOUCHER_MODEL_SEED=7 EVOUCHER_MODEL_NO_SHRINK=1 \
       ctest --output-on-failure --timeout 600 -R "^${suite}\$" >>"$work/last.log" 2>&1) || return 1
  done
}
fast_suite || { echo "mutants: the unmutated suite fails; see $work/last.log" >&2; exit 1; }

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
killed=0 survived=0 broken=0 total=0
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  [[ -n "$pattern" && "$line" != *"$pattern"* ]] && continue
  IFS='|' read -r file from to what <<<"$line"
  file=$(trim "$file"); from=$(trim "$from"); to=$(trim "$to"); what=$(trim "$what")
  total=$((total + 1))
  bars=${line//[^|]/}
  if ((${#bars} != 3)); then  # a '|' inside the text would shift the fields
    echo "BROKEN    $file: the line has ${#bars} '|', not 3: $line"
    broken=$((broken + 1))
    continue
  fi
  target="$work/tree/$file"
  cp "$root/$file" "$target"
  count=$(FROM="$from" perl -0ne 'my $n = () = /\Q$ENV{FROM}\E/g; print $n' "$target")
  if [[ "$count" != 1 ]]; then
    echo "BROKEN    $file: the text occurs $count times: $what"
    broken=$((broken + 1))
    continue
  fi
  echo "$file" >"$work/applied"
  FROM="$from" TO="$to" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$target"
  verdict=0
  fast_suite || verdict=$?
  if ((verdict == 2)); then
    echo "BROKEN    $file: the mutant does not build: $what"
    broken=$((broken + 1))
  elif ((verdict == 0)); then
    echo "SURVIVED  $file: $what"
    survived=$((survived + 1))
  else
    failing=$(grep -hoE '^\[  FAILED  \] [A-Za-z0-9_]+\.[A-Za-z0-9_/]+' "$work/last.log" 2>/dev/null | head -n 1 |
              sed 's/\[  FAILED  \] //' || true)
    [[ -z "$failing" ]] && failing=$(grep -oE '[0-9]+ - [a-z_]+ \(Failed\)' "$work/last.log" | head -n 1 || true)
    echo "killed    $file: $what (by ${failing:-a failing test})"
    killed=$((killed + 1))
  fi
  cp "$root/$file" "$target"
  rm -f "$work/applied"
done <scripts/mutants.txt
build "${suites[@]}"
echo "mutants: $killed of $total killed, $survived survived, $broken broken"
((survived == 0 && broken == 0))
