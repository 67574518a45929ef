# Sourced by the benchmarks: a private, durable PostgreSQL 15 in a temporary directory, and the
# service on it. Sets work, pgdata, url, pgbench_url, psql, and (after bench_serve) port and
# service_pid. With BENCH_HA=1 the database is a local pg_auto_failover formation instead
# (scripts/formation.sh, durable: fsync on, a synchronous standby), and url its multi-host URL.
bindir=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/evoucher-bench.XXXXXX)
chmod 755 "$work"
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
pgdata=$work/pg
service_pid=
url="host=$work dbname=evoucher user=postgres"
pgbench_url="host=$work dbname=pgbench user=postgres"
ha=${BENCH_HA:-0}
psql=(psql -X -q -v ON_ERROR_STOP=1)

bench_cleanup() {
  [[ -n "$service_pid" ]] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null || true
  if [[ $ha == 1 ]]; then
    scripts/formation.sh stop "$work/ha" >/dev/null 2>&1 || true
  else
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  fi
  [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"
}
trap bench_cleanup EXIT
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# Starts the cluster with the given postgres options, and creates the databases named.
bench_pg_start() {  # "options" database...
  local options=$1
  shift
  if [[ $ha == 1 ]]; then
    # The formation's own settings; the options apply to the single cluster only. pgbench and the
    # service share the primary, so the ratio stays like for like.
    export EVOUCHER_HA_PORT=${EVOUCHER_HA_PORT:-26540}
    url=$(scripts/formation.sh start "$work/ha" | tail -1)
    pgbench_url="host=127.0.0.1 port=$((EVOUCHER_HA_PORT + 1)) dbname=pgbench user=evoucher"
    local db
    for db in "$@"; do
      [[ $db == evoucher ]] || "${psql[@]}" "$url" -c "CREATE DATABASE $db"
    done
    return 0
  fi
  "${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -A trust -E UTF8 --no-locale >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -w -l "$work/pg.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$work' $options" start >/dev/null
  local db
  for db in "$@"; do "${psql[@]}" "host=$work dbname=postgres user=postgres" -c "CREATE DATABASE $db"; done
}

# Starts `evoucher serve` on a free port with the environment given (NAME=value...), and waits
# until it is ready.
bench_serve() {
  port=$((20000 + RANDOM % 20000))
  env "$@" EVOUCHER_DATABASE_URL="$url" EVOUCHER_LISTEN=127.0.0.1:$port EVOUCHER_LOG_LEVEL=warn \
    ./build/evoucher serve >"$work/service.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.1
  done
  cat "$work/service.log"
  return 1
}

# The service's peak resident set so far, in KiB.
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$service_pid/status"; }
