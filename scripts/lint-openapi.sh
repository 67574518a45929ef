#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly's CLI, installed from npm into build/tools on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.34.20
tools=build/tools
if [[ ! -x $tools/node_modules/.bin/redocly ]] || ! grep -q "\"version\": \"$version\"" $tools/node_modules/@redocly/cli/package.json; then
  mkdir -p $tools
  npm install --silent --no-audit --no-fund --prefix $tools "@redocly/cli@$version" >/dev/null
fi
out=$($tools/node_modules/.bin/redocly lint --config docs/redocly.yaml --max-problems 50 docs/openapi.yaml 2>&1) || {
  echo "$out"
  exit 1
}
echo "$out"
# Warnings fail the lint too: the contract document stays clean.
if grep -q "warning" <<<"$out"; then exit 1; fi
