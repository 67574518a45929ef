# Sourced by the long versions of the suite's tests (crash-test.sh, concurrent-test.sh,
# failover-test.sh), which export their settings first.
# long_test PROGRAM [ARGUMENTS...]: installs what the tests need, builds them, and runs
# build/tests/PROGRAM in place of the calling script.
# shellcheck shell=bash
long_test() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
  EVOUCHER_SETUP_TESTS=1 scripts/setup.sh
  EVOUCHER_TESTS=ON scripts/build.sh
  exec "build/tests/$1" "${@:2}"
}
