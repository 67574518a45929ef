#!/usr/bin/env bash
# Installs the Debian packages evoucher needs to build, run and test; does nothing when all are present.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache git ca-certificates curl openssl
  libboost1.81-dev libpqxx-dev nlohmann-json3-dev libspdlog-dev libssl-dev
  libgtest-dev
  postgresql-15 postgresql-client-15
  postgresql-15-auto-failover pgbackrest
  util-linux
  libjs-chart.js
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$p")
done
# The test suite lints docs/openapi.yaml with an npm tool. A Node.js that came from elsewhere
# (with its own npm) is used as it is: Debian's npm package would conflict with it.
if [[ "${EVOUCHER_SETUP_TESTS:-0}" == 1 ]] && ! { command -v node && command -v npm; } >/dev/null; then
  missing+=(nodejs npm)
fi
# The fuzz targets need clang and its libFuzzer runtime; the metrics and alert tests promtool
# (from prometheus); the console's browser test Chromium and a Korean font for its screenshots;
# the unit check systemd-analyze.
if [[ "${EVOUCHER_SETUP_TESTS:-0}" == 1 ]]; then
  for p in clang libclang-rt-14-dev prometheus chromium fonts-nanum systemd; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
  done
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
