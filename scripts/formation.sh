#!/usr/bin/env bash
# A local pg_auto_failover formation: a monitor, a primary and a synchronous standby, each a small
# PostgreSQL cluster under one directory, on 127.0.0.1. pg_auto_failover (Debian's
# postgresql-15-auto-failover) does all the replication and failover; this script only creates,
# starts, stops and (for the failover test and the demo) kills its processes.
#
#   scripts/formation.sh start DIR      create on first use, start, wait for the standby; prints the URL
#   scripts/formation.sh url DIR        the service's multi-host URL
#   scripts/formation.sh state DIR      pg_autoctl show state
#   scripts/formation.sh primary DIR    the name of the node that is primary now (node1 or node2)
#   scripts/formation.sh wait DIR       wait until one node is primary and the other secondary
#   scripts/formation.sh kill DIR NODE [postgres|node]
#                                       kill NODE's postmaster (its keeper restarts it), or the
#                                       whole node: keeper and postmaster, as a lost machine
#   scripts/formation.sh rejoin DIR NODE  start a killed node's keeper: it rejoins as a standby
#   scripts/formation.sh replace DIR NODE a node lost with its disk: dropped from the monitor, and
#                                       built again empty, as a standby copied from the primary
#   scripts/formation.sh switchover DIR pg_autoctl perform switchover
#   scripts/formation.sh backup DIR take full|diff|incr / restore TIME PGDATA [PORT] / info
#                                       scripts/backup.sh on the formation's pgBackRest repository
#   scripts/formation.sh stop DIR       stop all three
#
# EVOUCHER_HA_PORT (default 6540) is the monitor's port; the nodes take the next two.
# EVOUCHER_HA_FAST=1 (the default) shortens the monitor's health checks and the keepers' timeouts,
# so that a lost primary is replaced in seconds; EVOUCHER_HA_FSYNC=off is for throwaway test
# formations only. Trust authentication on 127.0.0.1: for a workstation, not for production
# (docs/ha-runbook.md sets up real machines).
set -euo pipefail

command=${1:?usage: formation.sh start|url|state|primary|wait|kill|rejoin|replace|switchover|backup|stop DIR}
dir=${2:?the directory of the formation}
base_port=${EVOUCHER_HA_PORT:-6540}
bindir=/usr/lib/postgresql/15/bin
nodes=(node1 node2)

port_of() { case $1 in monitor) echo "$base_port" ;; node1) echo $((base_port + 1)) ;; node2) echo $((base_port + 2)) ;; esac; }

# As root, PostgreSQL and pg_autoctl run as the postgres user. A directory that user cannot reach
# (a checkout under /root) becomes a link to one under /var/lib/evoucher, as the embedded cluster's.
as_pg=()
if [[ $(id -u) == 0 ]]; then
  as_pg=(runuser -u postgres --)
  if [[ ! -e $dir ]]; then
    mkdir -p "$(dirname "$dir")"
    if ! runuser -u postgres -- test -x "$(cd "$(dirname "$dir")" && pwd)"; then
      real=/var/lib/evoucher/ha-$(echo -n "$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")" | sha256sum | cut -c1-12)-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
      mkdir -p "$real"
      chmod 755 /var/lib/evoucher
      ln -s "$real" "$dir"
    fi
  fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
[[ $(id -u) == 0 ]] && chown postgres: "$dir"
chmod 700 "$dir"
# The postgres user may not enter the caller's directory (a checkout under /root, a mktemp -d):
# every command runs from the formation's own.
self=$(readlink -f "$0")
caller_dir=$PWD
cd "$dir"

# pg_autoctl keeps its configuration, state and pid files under XDG directories: ours, per formation.
pg() {
  "${as_pg[@]}" env PATH="$bindir:/usr/bin:/bin" HOME="$dir" XDG_CONFIG_HOME="$dir/config" \
    XDG_DATA_HOME="$dir/share" XDG_RUNTIME_DIR="$dir/run" PGHOST="$dir/sockets" "$@"
}
monitor_uri() { echo "postgres://autoctl_node@127.0.0.1:$(port_of monitor)/pg_auto_failover?sslmode=disable"; }
sql() {  # sql NODE STATEMENT: as the cluster's superuser, over its socket
  local db=evoucher
  [[ $1 == monitor ]] && db=pg_auto_failover
  pg psql -X -q -tA -h "$dir/sockets" -p "$(port_of "$1")" -d "$db" -c "$2"
}

# Starts a keeper (or the monitor) in its own session, logging under log/.
run_keeper() {
  local name=$1
  mkdir -p "$dir/log"
  [[ $(id -u) == 0 ]] && chown postgres: "$dir/log"
  pg setsid pg_autoctl run --pgdata "$dir/$name" >>"$dir/log/$name.log" 2>&1 < /dev/null &
}

keeper_pid() { pg pg_autoctl status --pgdata "$dir/$1" 2>&1 | sed -n 's/.*pg_autoctl is running with pid \([0-9]*\).*/\1/p'; }

state_table() { pg pg_autoctl show state --pgdata "$dir/monitor" 2>/dev/null; }
# The state of each node, as "node1=primary node2=secondary": reported, and "~" while the monitor
# has assigned another one.
states() { state_table | awk -F'|' 'NR > 2 { gsub(/ /, ""); printf "%s=%s%s ", $1, $6, ($6 == $7 ? "" : "~") }'; }

wait_for() {  # wait_for SECONDS PREDICATE...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
settled() {
  local s; s=$(states)
  [[ $s == *"=primary "* && $s == *"=secondary "* ]]
}

node1_single() { [[ $(states) == *"node1=single "* ]]; }
checkpoint_until_standby() {  # checkpoint_until_standby NODE: on the primary, until NODE is secondary
  local primary; primary=$("$self" primary "$dir")
  [[ -n $primary ]] && sql "$primary" CHECKPOINT >/dev/null 2>&1 || true
  [[ $(states) == *"$1=secondary "* ]]
}

# Settings of the primary, which the standby's base backup copies (postgresql.auto.conf). A base
# backup (a node rejoining where pg_rewind cannot serve) waits for a spread checkpoint: on these
# small clusters it is kept to a few seconds. full_page_writes stays on: pg_rewind needs it.
tune_node() {
  sql "$1" "ALTER SYSTEM SET wal_keep_size = '1GB'" >/dev/null
  sql "$1" "ALTER SYSTEM SET lc_messages = 'C'" >/dev/null
  sql "$1" "ALTER SYSTEM SET checkpoint_timeout = '30s'" >/dev/null
  sql "$1" "ALTER SYSTEM SET checkpoint_completion_target = 0.1" >/dev/null
  [[ ${EVOUCHER_HA_FSYNC:-on} == off ]] && sql "$1" "ALTER SYSTEM SET fsync = off" >/dev/null
  sql "$1" "SELECT pg_reload_conf()" >/dev/null
}

own_initdb() {
  pg initdb -D "$dir/$1" -A trust -E UTF8 --locale=C.UTF-8 >>"$dir/create.log" 2>&1
  printf "unix_socket_directories = '%s'\nlc_messages = 'C'\n" "$dir/sockets" >>"$dir/$1/postgresql.conf"
}

# pgBackRest archives every node's WAL into the formation's repository, backup/ (scripts/backup.sh).
# The standby's base backup copies these lines; PostgreSQL runs archive_command in the data
# directory, so the one line serves whichever node is primary.
backrest_conf() { echo "$dir/pgbackrest.conf"; }
# archive_mode needs a restart, so node1 starts with it; archive_command follows the stanza's
# creation (before it, every attempt would fail and count as a failure). Not `always`:
# pgBackRest refuses it. So the segments a lost primary had not archived yet (a minute's at most,
# archive_timeout) are missing from the archive after a failover: the runbook takes a backup then.
start_archiving() {
  backup create >>"$dir/create.log" 2>&1
  sql node1 "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$(backrest_conf) --stanza=evoucher --pg1-path=\"\$(pwd -P)\" archive-push %p'" >/dev/null
  sql node1 "SELECT pg_reload_conf()" >/dev/null
  backup check >>"$dir/create.log" 2>&1
}
write_backrest_conf() {
  mkdir -p "$dir/backup" "$dir/backup-run"
  cat >"$(backrest_conf)" <<CONF
[global]
repo1-path=$dir/backup
repo1-retention-full=2
lock-path=$dir/backup-run
spool-path=$dir/backup-run
log-path=$dir/log
start-fast=y
compress-type=lz4
log-level-console=warn

[evoucher]
pg1-path=$dir/node1
pg1-port=$(port_of node1)
pg1-socket-path=$dir/sockets
CONF
  [[ $(id -u) == 0 ]] && chown -R postgres: "$dir/backup" "$dir/backup-run" "$(backrest_conf)"
  return 0
}
# As the caller: the postgres user may not read the checkout. backup.sh runs pgbackrest as postgres.
backup() { PGBACKREST_CONFIG="$(backrest_conf)" "$(dirname "$self")/backup.sh" "$@"; }

# A data node registered with the monitor, its keeper started: the first is primary, a later one
# copies the primary (pg_basebackup).
create_node() {
  pg pg_autoctl create postgres --pgdata "$dir/$1" --pgport "$(port_of "$1")" --pghost "$dir/sockets" \
    --hostname 127.0.0.1 --listen 127.0.0.1 --name "$1" --username evoucher --dbname evoucher \
    --monitor "$(monitor_uri)" --auth trust --no-ssl >>"$dir/create.log" 2>&1
  if [[ ${EVOUCHER_HA_FAST:-1} == 1 ]]; then
    pg pg_autoctl config set --pgdata "$dir/$1" timeout.network_partition_timeout 4 >/dev/null
    pg pg_autoctl config set --pgdata "$dir/$1" timeout.prepare_promotion_walreceiver 2 >/dev/null
  fi
  run_keeper "$1"
}

create() {
  mkdir -p "$dir/sockets" "$dir/run" "$dir/config" "$dir/share" "$dir/log"
  write_backrest_conf
  [[ $(id -u) == 0 ]] && chown -R postgres: "$dir"
  # Our own initdb, so that the sockets are in the formation's directory from the first start
  # (pg_autoctl would start them with the system's default, which may not exist).
  own_initdb monitor
  pg pg_autoctl create monitor --pgdata "$dir/monitor" --pgport "$(port_of monitor)" --hostname 127.0.0.1 \
    --auth trust --no-ssl >>"$dir/create.log" 2>&1
  run_keeper monitor
  wait_for 60 sql monitor "SELECT 1" >/dev/null 2>&1
  if [[ ${EVOUCHER_HA_FAST:-1} == 1 ]]; then
    # The monitor probes each node every second; a node that fails two probes for 3 s is
    # unhealthy, and a primary that does not report for 6 s is replaced. A keeper that cannot
    # reach the monitor nor its standby for 4 s demotes itself first (so 6 s > 4 s: no split brain).
    for setting in health_check_period=1000 health_check_timeout=1000 health_check_retry_delay=500 \
      health_check_max_retries=2 node_considered_unhealthy_timeout=3000 primary_demote_timeout=6000 \
      startup_grace_period=3000; do
      sql monitor "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null
    done
    sql monitor "SELECT pg_reload_conf()" >/dev/null
  fi
  local node
  for node in "${nodes[@]}"; do
    # The standby's files come from the primary's base backup, settings included.
    if [[ $node == node1 ]]; then
      own_initdb node1
      printf "archive_mode = on\narchive_timeout = 60s\n" >>"$dir/node1/postgresql.conf"
    fi
    create_node "$node"
    if [[ $node == node1 ]]; then
      wait_for 60 sql node1 "SELECT 1" >/dev/null 2>&1
      tune_node node1
      # The service's owner creates roles and the schema (as on the embedded cluster).
      sql node1 "ALTER ROLE evoucher SUPERUSER" >/dev/null
      wait_for 60 node1_single
      start_archiving
    else
      # The standby's base backup waits for a checkpoint: ask for it at once, until it is taken.
      wait_for 180 checkpoint_until_standby node2
      printf "pg2-path=%s\npg2-port=%s\npg2-socket-path=%s\n" "$dir/node2" "$(port_of node2)" "$dir/sockets" \
        >>"$(backrest_conf)"
    fi
  done
  touch "$dir/created"
}

case $command in
  start)
    if [[ ! -f $dir/created ]]; then
      [[ -z $(ls -A "$dir") ]] || { echo "formation: $dir holds an unfinished formation; remove it and start again" >&2; exit 1; }
      create
    else
      for name in monitor "${nodes[@]}"; do [[ -n $(keeper_pid "$name") ]] || run_keeper "$name"; done
    fi
    wait_for 180 settled || { echo "formation: no primary and secondary after 180 s" >&2; state_table >&2; exit 1; }
    "$self" url "$dir"
    ;;
  url)
    echo "host=127.0.0.1,127.0.0.1 port=$(port_of node1),$(port_of node2) user=evoucher dbname=evoucher target_session_attrs=read-write"
    ;;
  state) state_table ;;
  # The node that takes writes now (primary, or wait_primary: committing alone).
  primary) states | tr ' ' '\n' | sed -n 's/=primary$//p; s/=wait_primary$//p' | head -1 ;;
  wait) wait_for "${3:-120}" settled || { state_table >&2; exit 1; } ;;
  kill)
    node=${3:?which node}
    postmaster=$(head -1 "$dir/$node/postmaster.pid" 2>/dev/null || true)
    keeper=
    if [[ ${4:-postgres} == node ]]; then
      keeper=$(keeper_pid "$node")
      # The keeper runs in its own session: its group holds it and its services.
      [[ -n $keeper ]] && kill -KILL -- "-$keeper" 2>/dev/null || true
    fi
    [[ -n $postmaster ]] && kill -KILL "$postmaster" 2>/dev/null || true
    echo "$(date +%T.%3N) killed $node (${4:-postgres}): postmaster ${postmaster:-none}, keeper ${keeper:-left}" >>"$dir/log/commands.log"
    ;;
  rejoin)
    run_keeper "${3:?which node}"
    echo "$(date +%T.%3N) rejoined ${3}" >>"$dir/log/commands.log"
    ;;
  replace)
    # NODE's machine is lost with its disk: the monitor forgets it, and a new node of that name,
    # on an empty disk, copies the primary and becomes its standby (runbook, section 6).
    node=${3:?which node}
    "$self" kill "$dir" "$node" node
    pg pg_autoctl drop node --monitor "$(monitor_uri)" --formation default --name "$node" --force \
      >>"$dir/log/commands.log" 2>&1
    wait_for 60 bash -c "! '$self' state '$dir' | grep -q '^ *$node '" ||
      { echo "formation: the monitor still lists $node" >&2; exit 1; }
    rm -rf "${dir:?}/$node" "$dir/config/pg_autoctl$dir/$node" "$dir/share/pg_autoctl$dir/$node" "$dir/run/pg_autoctl$dir/$node"
    create_node "$node"
    wait_for 180 checkpoint_until_standby "$node" || { state_table >&2; exit 1; }
    echo "$(date +%T.%3N) replaced ${node}" >>"$dir/log/commands.log"
    ;;
  switchover) pg pg_autoctl perform switchover --pgdata "$dir/monitor" ;;
  # backup DIR take full|diff|incr, restore TIME PGDATA [PORT], info: scripts/backup.sh on the
  # formation's repository; take records the backup through the service's URL. A restore goes into
  # a directory under DIR (the postgres user must reach it), and stop stops it too.
  backup)
    # A restore reaches what is archived: the WAL written since the last switch is archived first.
    args=("${@:3}")
    if [[ ${3:-} == restore ]]; then
      backup check >/dev/null 2>&1 || echo "formation: could not archive the latest WAL; the restore reaches what is archived" >&2
      # The new directory, as the caller named it.
      [[ -n ${5:-} ]] && args[2]=$(cd "$caller_dir" && realpath -m -- "$5")
    fi
    EVOUCHER_DATABASE_URL=${EVOUCHER_DATABASE_URL:-$("$self" url "$dir")} backup "${args[@]}"
    ;;
  stop)
    for copy in "$dir"/*/postmaster.pid; do  # restored copies
      copy=$(dirname "$copy")
      [[ $copy == */monitor || $copy == */node1 || $copy == */node2 || ! -d $copy ]] ||
        pg pg_ctl -D "$copy" -m fast stop >/dev/null 2>&1 || true
    done
    for name in "${nodes[@]}" monitor; do
      [[ -d $dir/$name ]] && pg pg_autoctl stop --pgdata "$dir/$name" >/dev/null 2>&1 || true
    done
    for name in "${nodes[@]}" monitor; do
      wait_for 30 bash -c "! kill -0 \$(head -1 '$dir/$name/postmaster.pid' 2>/dev/null) 2>/dev/null" || true
    done
    ;;
  *) echo "formation: unknown command $command" >&2; exit 2 ;;
esac
