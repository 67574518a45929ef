#!/usr/bin/env bash
# The "run" command: installs, builds, starts the embedded PostgreSQL under var/pg,
# migrates, seeds the Incheon demo and serves on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
EVOUCHER_TESTS=OFF scripts/build.sh

mkdir -p var
if [[ ! -f var/demo.env ]]; then
  umask 077
  {
    echo "EVOUCHER_ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "EVOUCHER_PROCESSOR_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } > var/demo.env
fi
set -a; . var/demo.env; set +a

./build/evoucher migrate
./build/evoucher seed demo

listen=${EVOUCHER_LISTEN:-127.0.0.1:8080}
cat <<MSG

evoucher demo is ready.
  admin token (city_admin):  $EVOUCHER_ADMIN_TOKEN
  processor secret:          $EVOUCHER_PROCESSOR_SECRET
  (both are kept in var/demo.env)

The admin console: http://$listen/console/ (sign in with the admin token above)

Try:
  curl -s http://$listen/readyz
  curl -s -H "Authorization: Bearer $EVOUCHER_ADMIN_TOKEN" http://$listen/v1/districts

Stop with Ctrl-C; "./build/evoucher db stop" stops the embedded PostgreSQL.

MSG
exec ./build/evoucher serve
