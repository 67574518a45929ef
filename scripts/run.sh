#!/usr/bin/env bash
# The "run" command: installs, builds, starts the embedded PostgreSQL under var/pg,
# migrates, seeds the Incheon demo and serves on 127.0.0.1:8080.
# With EVOUCHER_HA=1 the database is a local pg_auto_failover formation under var/ha instead
# (scripts/formation.sh: a monitor, a primary and a synchronous standby), reached through one
# multi-host URL, so that the primary can be killed and the service watched; pgBackRest archives
# its WAL and takes a first full backup.
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

db_note='Stop with Ctrl-C; "./build/evoucher db stop" stops the embedded PostgreSQL.'
if [[ ${EVOUCHER_HA:-0} == 1 ]]; then
  echo "run: starting the local formation under var/ha (the first start takes about a minute)" >&2
  EVOUCHER_DATABASE_URL=$(scripts/formation.sh start var/ha)
  export EVOUCHER_DATABASE_URL
  db_note="The database is the formation under var/ha:
  scripts/formation.sh state var/ha                the monitor's view
  scripts/formation.sh kill var/ha node1 node      lose node1 (if primary), watch the standby take over
  scripts/formation.sh rejoin var/ha node1         bring it back as the standby
  scripts/formation.sh replace var/ha node1        or build it again, empty, as a lost disk
  scripts/formation.sh backup var/ha take diff     a backup (pgBackRest; WAL is archived all along)
  scripts/formation.sh backup var/ha restore '2026-12-07 14:05:00+09' var/ha/copy 6549
                                                   the ledger as it was then, in a new cluster on port 6549
  scripts/formation.sh stop var/ha                 stop all three (after Ctrl-C here)
See docs/ha-runbook.md."
fi

./build/evoucher migrate
./build/evoucher seed demo
if [[ ${EVOUCHER_HA:-0} == 1 ]] && ! scripts/formation.sh backup var/ha info | grep -q 'full backup'; then
  echo "run: taking the formation's first full backup (pgBackRest, into var/ha/backup)" >&2
  scripts/formation.sh backup var/ha take full
fi

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

$db_note

MSG
exec ./build/evoucher serve
