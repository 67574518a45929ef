#!/usr/bin/env bash
# The console's browser test: installs playwright-core (pinned, from npm) into build/tools on first
# use, then runs the test program given (build/tests/console_tests), which starts the service and
# drives Debian's Chromium through every page. Screenshots land in build/console-screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.61.1
tools=build/tools
if [[ ! -f $tools/node_modules/playwright-core/package.json ]] ||
  ! grep -q "\"version\": \"$version\"" $tools/node_modules/playwright-core/package.json; then
  mkdir -p $tools
  npm install --silent --no-audit --no-fund --prefix $tools "playwright-core@$version" >/dev/null
fi
command -v chromium >/dev/null || { echo "console-test: chromium is not installed (scripts/setup.sh installs it)"; exit 1; }
exec "$@"
