#!/usr/bin/env bash
# Backups and point-in-time restores of the ledger, by pgBackRest (Debian's pgbackrest). This
# script only calls pgbackrest and records what it did; the archiving, the backups and the
# restores are pgBackRest's own. Installed on the database machines as /usr/local/bin/evoucher-backup.
#
#   backup.sh create                 create the stanza (the repository's home for this cluster); then
#                                    set archive_command (below) and reload
#   backup.sh check                  check that WAL reaches the repository (forces a WAL switch)
#   backup.sh take full|diff|incr    take a backup, then record it in the ledger's `backups` table
#                                    (through EVOUCHER_DATABASE_URL), which /metrics reads
#   backup.sh restore TIME PGDATA [PORT]
#                                    restore into a new, empty PGDATA, to the moment TIME (say the
#                                    time zone: "2026-12-07 14:05:00+09"); the cluster promotes itself
#                                    at TIME, archives nothing, and waits for no standby. With PORT,
#                                    start it there (socket in PGDATA, no TCP), wait for it to
#                                    promote, and print its URL
#   backup.sh info                   pgbackrest info
#
# pgBackRest reads its configuration from PGBACKREST_CONFIG (default
# /etc/pgbackrest/pgbackrest.conf) and the stanza from PGBACKREST_STANZA (default here: evoucher).
# Each node archives with
#   archive_command = 'pgbackrest --stanza=evoucher --pg1-path="$(pwd -P)" archive-push %p'
# (PostgreSQL runs it in the data directory: the same line serves every node of a formation).
# Run as the clusters' owner; as root it runs pgbackrest as postgres.
set -euo pipefail

command=${1:?usage: backup.sh create|check|take TYPE|restore TIME PGDATA [PORT]|info}
export PGBACKREST_STANZA=${PGBACKREST_STANZA:-evoucher}
export PATH=/usr/lib/postgresql/15/bin:$PATH
as_owner=()
[[ $(id -u) == 0 ]] && as_owner=(runuser -u postgres --)
# Paths given relative to the caller's directory, then from / on: the postgres user may not enter
# the caller's.
[[ -n ${PGBACKREST_CONFIG:-} ]] && PGBACKREST_CONFIG=$(realpath -m -- "$PGBACKREST_CONFIG")
[[ $command == restore && -n ${3:-} ]] && set -- "$1" "$2" "$(realpath -m -- "$3")" "${@:4}"
cd /

backrest() { "${as_owner[@]}" env PGBACKREST_STANZA="$PGBACKREST_STANZA" \
  ${PGBACKREST_CONFIG:+PGBACKREST_CONFIG="$PGBACKREST_CONFIG"} pgbackrest "$@"; }

# Every backup the repository holds, into `backups` (a row once a label): /metrics reads the
# newest stop time. PostgreSQL parses pgbackrest's JSON.
record() {
  local url=${EVOUCHER_DATABASE_URL:?set EVOUCHER_DATABASE_URL: the ledger database, as its owner}
  psql -X -q -v ON_ERROR_STOP=1 -d "$url" -v info="$(backrest info --output=json)" -v stanza="$PGBACKREST_STANZA" <<'SQL'
INSERT INTO backups (label, kind, started_at, stopped_at)
SELECT b ->> 'label', b ->> 'type', to_timestamp((b -> 'timestamp' ->> 'start')::bigint),
       to_timestamp((b -> 'timestamp' ->> 'stop')::bigint)
  FROM jsonb_array_elements(:'info'::jsonb) s, jsonb_array_elements(s -> 'backup') b
 WHERE s ->> 'name' = :'stanza'
ON CONFLICT (label) DO NOTHING;
SQL
}

case $command in
  create) backrest stanza-create ;;
  check) backrest check ;;
  take)
    type=${2:?full, diff or incr}
    [[ $type == full || $type == diff || $type == incr ]] || { echo "backup: the type is full, diff or incr, not $type" >&2; exit 2; }
    backrest backup --type="$type"
    record
    ;;
  restore)
    target=${2:?the time to restore to, with its time zone}
    pgdata=${3:?a new, empty data directory}
    if [[ -e $pgdata && -n $(ls -A "$pgdata" 2>/dev/null) ]]; then
      echo "backup: $pgdata is not empty; a restore goes into a new directory" >&2
      exit 1
    fi
    mkdir -p "$pgdata"
    chmod 700 "$pgdata"
    [[ $(id -u) == 0 ]] && chown postgres: "$pgdata"
    pgdata=$(cd "$pgdata" && pwd -P)
    backrest restore --pg1-path="$pgdata" --type=time --target="$target" --target-action=promote --archive-mode=off
    # The copy is a new cluster on a new timeline: it is nobody's primary, so it waits for no
    # standby (pg_auto_failover had named one in postgresql.auto.conf).
    printf "# evoucher-backup restore to %s: a cluster of its own\nsynchronous_standby_names = ''\n" "$target" |
      "${as_owner[@]}" tee -a "$pgdata/postgresql.auto.conf" >/dev/null
    port=${4:-}
    if [[ -z $port ]]; then
      cat <<MSG
Restored to $target in $pgdata. Start it on a free port (it promotes itself at $target), and check
the ledger:
  pg_ctl -D $pgdata -o "-p PORT -c unix_socket_directories=$pgdata -c listen_addresses='' -c ssl=off" start
  EVOUCHER_DATABASE_URL="host=$pgdata port=PORT dbname=evoucher user=evoucher" evoucher verify
Once it has promoted, before any standby is made from it:
  ALTER SYSTEM RESET restore_command; ALTER SYSTEM RESET recovery_target_time; ALTER SYSTEM RESET recovery_target_action;
MSG
      exit 0
    fi
    # Started on PORT, with its socket in PGDATA and no TCP listener: a copy to read and verify.
    # ssl off: pg_auto_failover's certificate paths point into the node's own directory.
    "${as_owner[@]}" pg_ctl -D "$pgdata" -w -t 300 -l "$pgdata/restore.log" \
      -o "-p $port -c unix_socket_directories=$pgdata -c listen_addresses='' -c ssl=off" start >/dev/null
    # It stops by itself when the archive ends before TIME (WAL after TIME not archived yet).
    for _ in $(seq 600); do
      if [[ $("${as_owner[@]}" psql -X -tA -h "$pgdata" -p "$port" -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]]; then
        # Promoted: the recovery settings go, or a standby copied from this one would stop at TIME too.
        for setting in restore_command recovery_target_time recovery_target_action; do
          "${as_owner[@]}" psql -X -q -h "$pgdata" -p "$port" -d postgres -c "ALTER SYSTEM RESET $setting"
        done
        echo "host=$pgdata port=$port dbname=evoucher user=evoucher"
        exit 0
      fi
      "${as_owner[@]}" pg_ctl -D "$pgdata" status >/dev/null || break
      sleep 0.5
    done
    echo "backup: the restored cluster did not promote; its log ends:" >&2
    tail -n 5 "$(ls -t "$pgdata"/log/* 2>/dev/null | head -1 || echo "$pgdata/restore.log")" >&2
    cat >&2 <<MSG
"recovery ended before configured recovery target was reached": the archive ends before $target.
The WAL written since is archived within archive_timeout (a minute); \`evoucher-backup check\` on
the primary archives it now. Remove $pgdata, and restore again.
MSG
    exit 1
    ;;
  info) backrest info ;;
  *) echo "backup: unknown command $command" >&2; exit 2 ;;
esac
