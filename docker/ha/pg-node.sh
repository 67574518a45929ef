#!/usr/bin/env bash
# The formation's containers (docker/ha/docker-compose.yml): on first start, creates the monitor or
# a data node with pg_autoctl; then runs pg_autoctl, which starts and stops PostgreSQL and does all
# the replication and failover. This script only passes pg_autoctl its options and the passwords.
#
#   pg-node.sh monitor       the monitor
#   pg-node.sh node NAME     a data node: the first one created is the primary, the next ones copy it
#
# PGDATA is the data directory. pg_autoctl keeps its configuration and state under HOME, and libpq
# reads the passwords from HOME/.pgpass: Compose gives each container its volume as HOME
# (/srv/NAME) and PGDATA=/srv/NAME/pgdata, so that `docker compose exec NAME pg_autoctl ...` finds
# them too. The data directories differ from node to node so that the backup job, which mounts
# them all, finds each at the path its PostgreSQL reports.
#
# Passwords, from the environment: EVOUCHER_MONITOR_PASSWORD (autoctl_node: the keepers' login to
# the monitor), EVOUCHER_REPLICATION_PASSWORD (pgautofailover_replicator), and on the first node
# EVOUCHER_DB_PASSWORD (the owner, evoucher) and EVOUCHER_APP_PASSWORD (the service, evoucher_app).
# Outside Compose: EVOUCHER_HA_HOSTNAME (default NAME), EVOUCHER_HA_MONITOR (host:port, default
# monitor:5432), PGPORT (default 5432).
set -euo pipefail

role=${1:?usage: pg-node.sh monitor | node NAME}
name=monitor
if [[ $role == node ]]; then name=${2:?usage: pg-node.sh node NAME}; fi
: "${PGDATA:?set PGDATA, the data directory}"
hostname=${EVOUCHER_HA_HOSTNAME:-$name}
monitor=${EVOUCHER_HA_MONITOR:-monitor:5432}
export PGPORT=${PGPORT:-5432}

# Runs one psql script (stdin) as the superuser while PostgreSQL is up for that alone: on its
# socket, with no TCP listener, so nothing else connects before the setup is done.
setup_sql() {
  pg_ctl --pgdata "$PGDATA" --wait --log "$HOME/setup.log" --options "-h '' -p $PGPORT" start >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"
  pg_ctl --pgdata "$PGDATA" --wait --mode fast stop >/dev/null
}

# One line of a .pgpass file: ':' and '\' in a field are escaped.
pgpass_line() {
  local out='' field
  for field in "$@"; do out+=${out:+:}$(printf '%s' "$field" | sed 's/[\\:]/\\&/g'); done
  printf '%s\n' "$out"
}

# TLS with certificates pg_autoctl signs itself (--ssl-self-signed): see docker-compose.yml.
create_monitor() {
  pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$hostname" \
    --auth scram-sha-256 --ssl-self-signed
  # pg_autoctl's own rule names the network it detected; this one follows the containers' network.
  echo 'hostssl pg_auto_failover autoctl_node samenet scram-sha-256' >>"$PGDATA/pg_hba.conf"
  setup_sql pg_auto_failover -v password="${EVOUCHER_MONITOR_PASSWORD:?}" <<'SQL'
ALTER ROLE autoctl_node PASSWORD :'password';
SQL
}

create_node() {
  # The monitor's and the replicator's passwords, for the keeper, pg_basebackup, pg_rewind and the
  # standby's WAL receiver. Not pg_autoctl's replication.password: it goes into a connection URI,
  # and a password with a backslash then failed to log in.
  {
    pgpass_line "${monitor%:*}" "${monitor#*:}" pg_auto_failover autoctl_node "${EVOUCHER_MONITOR_PASSWORD:?}"
    pgpass_line '*' '*' '*' pgautofailover_replicator "${EVOUCHER_REPLICATION_PASSWORD:?}"
  } >"$HOME/.pgpass"
  chmod 600 "$HOME/.pgpass"
  # The first node registered becomes `single`; a later one waits for the primary, copies it with
  # pg_basebackup (settings, pg_hba.conf and roles included), and becomes its synchronous standby.
  pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$hostname" --name "$name" \
    --username evoucher --dbname evoucher --auth scram-sha-256 --ssl-self-signed \
    --monitor "postgres://autoctl_node@$monitor/pg_auto_failover?sslmode=require"
  # A standby has copied all that follows from the primary.
  [[ -f $PGDATA/standby.signal ]] && return
  cat >>"$PGDATA/pg_hba.conf" <<'EOF_HBA'
# evoucher: the service, its migration and the backup's record, from the compose network.
hostssl evoucher evoucher,evoucher_app samenet scram-sha-256
# pg_autoctl's own rules name each container's address at its creation. These still let in a
# container recreated with another address: a standby's replication and pg_rewind, and the
# monitor's health check (which only waits for the password request).
hostssl replication pgautofailover_replicator samenet scram-sha-256
hostssl all pgautofailover_replicator samenet scram-sha-256
host all pgautofailover_monitor samenet scram-sha-256
EOF_HBA
  # archive_mode needs a restart: it is set before the keeper first starts PostgreSQL. The archiver
  # runs in the data directory, so the command names the node it runs on, on any node; and being in
  # postgresql.auto.conf, it reaches every standby through pg_basebackup and pg_rewind. Until the
  # stanza exists (the `stanza` job), archiving fails and PostgreSQL keeps the WAL.
  setup_sql evoucher -v replication="$EVOUCHER_REPLICATION_PASSWORD" -v owner="${EVOUCHER_DB_PASSWORD:?}" \
    -v app="${EVOUCHER_APP_PASSWORD:?}" <<'SQL'
ALTER ROLE pgautofailover_replicator PASSWORD :'replication';
-- The owner creates and grants roles (migration 0009), as in docker/docker-compose.yml.
ALTER ROLE evoucher SUPERUSER PASSWORD :'owner';
CREATE ROLE evoucher_service NOLOGIN;
CREATE ROLE evoucher_app LOGIN PASSWORD :'app' IN ROLE evoucher_service;
ALTER SYSTEM SET archive_mode = on;
ALTER SYSTEM SET archive_command = 'pgbackrest --stanza=evoucher --pg1-path="$(pwd -P)" archive-push %p';
-- A quiet primary still archives its WAL each minute: a restore can reach a minute ago.
ALTER SYSTEM SET archive_timeout = '60s';
SQL
}

if [[ ! -f $HOME/created ]]; then
  if [[ -e $PGDATA ]]; then
    echo "pg-node: $HOME holds an unfinished $name; remove its volume and start again" >&2
    exit 1
  fi
  if [[ $role == monitor ]]; then create_monitor; else create_node; fi
  touch "$HOME/created"
fi
# The socket directory is a volume (the backup job connects through it): a lock file left by a
# killed container would outlive it.
rm -f /run/postgresql/.s.PGSQL."$PGPORT".lock
exec pg_autoctl run --pgdata "$PGDATA"
