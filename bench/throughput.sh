#!/usr/bin/env bash
# The money path's throughput benchmark, in one run:
#   1. a fresh, durable PostgreSQL 15 (fsync and synchronous_commit on), its settings printed;
#   2. the data seeded in bulk (bench/seed_throughput.sql);
#   3. pgbench -M prepared -b tpcb-like, with the same client count and duration, before and after
#      the service's phases; the reference is the mean of the two;
#   4. wrk over pregenerated signed payments (each event_id once; the run fails if the list wraps),
#      for two workloads: spread (100,000 members, 2,000 merchants) and hot (10,000 members, one
#      merchant); then a quiet run at 4 connections for latency.
# Afterwards `evoucher verify` must pass, and the payment rows must match the approvals.
# Settings: BENCH_SECONDS (20), BENCH_CONNECTIONS (64), BENCH_STATEMENTS=1 adds pg_stat_statements,
# BENCH_CEILING=1 runs without the balance trigger and the secondary indexes (bench/ceiling.sql),
# BENCH_HA=1 runs it all on a local formation (a primary and a synchronous standby, under
# pg_auto_failover), pgbench on the same primary.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
  sudo=(); [[ $(id -u) != 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
scripts/setup.sh
scripts/build.sh >/dev/null

seconds=${BENCH_SECONDS:-20}
conns=${BENCH_CONNECTIONS:-64}
threads=2
source bench/lib.sh
preload=""
[[ "${BENCH_STATEMENTS:-0}" == 1 ]] && preload="-c shared_preload_libraries=pg_stat_statements"
bench_pg_start "-c max_connections=200 -c shared_buffers=512MB -c min_wal_size=2GB -c max_wal_size=4GB $preload ${BENCH_PG_OPTS:-}" \
  evoucher pgbench
[[ "${BENCH_STATEMENTS:-0}" == 1 ]] && "${psql[@]}" "$url" -c "CREATE EXTENSION pg_stat_statements"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "== PostgreSQL settings"
"${psql[@]}" "$url" -At -c "SELECT name || ' = ' || setting FROM pg_settings WHERE name IN
  ('server_version', 'fsync', 'synchronous_commit', 'synchronous_standby_names', 'full_page_writes', 'wal_sync_method', 'shared_buffers',
   'max_connections', 'commit_delay', 'min_wal_size', 'max_wal_size') ORDER BY name"

EVOUCHER_DATABASE_URL=$url ./build/evoucher migrate >/dev/null
t0=$(date +%s.%N)
"${psql[@]}" "$url" -f bench/seed_throughput.sql
echo "== seeded in $(since "$t0") s"
# For trying a schema change against the same run: SQL applied after the seed.
[[ -n "${BENCH_AFTER_SEED:-}" ]] && "${psql[@]}" "$url" -c "$BENCH_AFTER_SEED"
ceiling=${BENCH_CEILING:-0}
if [[ "$ceiling" == 1 ]]; then
  echo "== ceiling: bench/ceiling.sql drops the balance trigger and the secondary indexes (not a valid ledger)"
  "${psql[@]}" "$url" -f bench/ceiling.sql
fi

echo "== pgbench -M prepared -b tpcb-like -c $conns -j $threads -T $seconds (scale $conns), before and after the service"
"$bindir/pgbench" -q -i -s "$conns" "$pgbench_url" >/dev/null 2>&1
# Each measured phase starts from a checkpoint, so that none pays for another's dirty pages.
checkpoint() { "${psql[@]}" "$url" -c "CHECKPOINT"; }
[[ -n "${BENCH_PGBENCH_SECONDS:-}" ]] && seconds_pg=$BENCH_PGBENCH_SECONDS || seconds_pg=$seconds
# pgbench's own rate moves by 10-20 % between runs on a shared machine, so it runs twice, before
# and after the service's phases, and the ratios are taken against the mean of the two.
pgbench_tps() {
  checkpoint
  "$bindir/pgbench" -M prepared -b tpcb-like -c "$conns" -j "$threads" -T "$seconds_pg" -n \
    "$pgbench_url" 2>&1 | awk '/^tps =/ {print $3; exit}'
}
pg_tps_before=$(pgbench_tps)
echo "pgbench tps, before: $pg_tps_before"

secret=bench-secret-$RANDOM$RANDOM
bench_serve EVOUCHER_PROCESSOR_SECRET="$secret"

# CPU seconds (user + system) of every live process with this command name; the postgres total
# includes the checkpointer, WAL writer and background writer.
cpu_of() {
  local hz total=0 pid f
  hz=$(getconf CLK_TCK)
  for pid in $(pgrep -x "$1"); do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    f=${f##*) }
    total=$((total + $(echo "$f" | awk '{print $12 + $13}')))
  done
  awk -v t="$total" -v hz="$hz" 'BEGIN {printf "%.3f", t / hz}'
}
# Microseconds of CPU per approved payment, by process, over one wrk phase.
cpu_per_payment() {  # postgres-cpu-before service-cpu-before wrk-cpu approved
  local pg sv
  pg=$(cpu_of postgres); sv=$(cpu_of evoucher)
  awk -v a="$1" -v b="$pg" -v c="$2" -v d="$sv" -v n="$4" -v w="$3" \
    'BEGIN {printf "cpu per payment: postgres %.0f us, service %.0f us, wrk %.0f us", (b - a) * 1e6 / n, (d - c) * 1e6 / n, w * 1e6 / n}'
}

# The group-commit metrics: commands and groups so far.
group_counts() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^evoucher_group_commit_size_sum/ {s = $2} /^evoucher_group_commit_size_count/ {c = $2} END {print s + 0, c + 0}'
}

# WAL per approved payment over one phase, from the LSNs around it: bytes, and (single cluster
# only) pg_waldump's records by type, with the full-page images apart. The phase's segments are
# still there: the next phase's checkpoint comes after this.
lsn() { "${psql[@]}" "$url" -At -c "SELECT pg_current_wal_lsn()"; }
wal_per_payment() {  # lsn-before lsn-after approved
  local bytes
  bytes=$("${psql[@]}" "$url" -At -c "SELECT pg_wal_lsn_diff('$2', '$1')")
  if [[ $ha == 1 ]]; then
    awk -v b="$bytes" -v n="$3" 'BEGIN {printf "  wal per payment: %.0f bytes\n", b / n}'
    return 0
  fi
  local stats
  stats=$("${as_pg[@]}" "$bindir/pg_waldump" --stats=record -p "$pgdata/pg_wal" -s "$1" -e "$2" 2>/dev/null |
    awk '{ gsub(/[([][ 0-9.]*%?[])]/, "") } $1 == "Total" || ($1 ~ /\// && $2 > 0) {print $1, $2, $4, $5}')
  echo "$stats" | awk -v b="$bytes" -v n="$3" '$1 == "Total" {
    printf "  wal per payment: %.0f bytes (full-page images %.0f), %.1f records\n", b / n, $3 / n, $2 / n}'
  echo "$stats" | grep -v '^Total' | sort -k4,4nr | head -n 8 | awk -v n="$3" '
    {line = line sprintf(" %s %.2f, %.0f B;", $1, $2 / n, $4 / n)} END {print "    by type, records and bytes:" line}'
}

failed=0
results=()
run_workload() {  # name workload connections count
  local name=$1 workload=$2 c=$3 count=$4
  python3 bench/make_requests.py "$secret" "$work/$name.req" "$workload" "$count" "$name-$RANDOM"
  local out
  checkpoint
  local pg0 sv0 wrk_cpu groups0
  pg0=$(cpu_of postgres); sv0=$(cpu_of evoucher); groups0=$(group_counts)
  local lsn0
  lsn0=$(lsn)
  local wrk_times=$work/wrk.times
  out=$( { /usr/bin/time -f '%U %S' -o "$wrk_times" env REQUESTS="$work/$name.req" WRK_THREADS=$threads \
    wrk -t "$threads" -c "$c" -d "${seconds}s" --timeout 10s -s bench/payments.lua "http://127.0.0.1:$port"; } |
    grep '^RESULT')
  wrk_cpu=$(awk '{print $1 + $2}' "$wrk_times")
  local lsn1
  lsn1=$(lsn)
  local approved per_s
  approved=$(echo "$out" | sed 's/.*approved=\([0-9]*\).*/\1/')
  per_s=$(echo "$out" | sed 's/.*approved_per_s=\([0-9.]*\).*/\1/')
  echo "$name ($workload, $c connections): $out"
  echo "  $(cpu_per_payment "$pg0" "$sv0" "$wrk_cpu" "$approved"); $(group_counts | awk -v b="$groups0" \
    'BEGIN {split(b, x, " ")} {printf "%d groups, %.1f commands a group", $2 - x[2], ($1 - x[1]) / ($2 - x[2])}')"
  wal_per_payment "$lsn0" "$lsn1" "$approved"
  results+=("$name $c $per_s")
  if echo "$out" | grep -q 'wrapped=[1-9]'; then echo "FAIL: $name wrapped its request list"; failed=1; fi
  total_approved=$((total_approved + approved))
}
total_approved=0
echo "== wrk, $seconds s each"
# Enough distinct requests for 15,000 approvals a second (3,000 at 4 connections); a run that
# needs more fails as wrapped rather than resending an event.
run_workload spread spread "$conns" $((seconds * 15000))
run_workload hot hot "$conns" $((seconds * 15000))
[[ -n "${BENCH_BEFORE_QUIET:-}" ]] && "${psql[@]}" "$url" -c "$BENCH_BEFORE_QUIET" -c "SELECT pg_reload_conf()" >/dev/null
run_workload quiet spread 4 $((seconds * 3000))
pg_tps_after=$(pgbench_tps)
pg_tps=$(awk -v a="$pg_tps_before" -v b="$pg_tps_after" 'BEGIN {printf "%.1f", (a + b) / 2}')
echo "pgbench tps, after: $pg_tps_after; the reference is their mean, $pg_tps"
echo "== approved payments/s against pgbench"
for r in "${results[@]}"; do
  read -r name c per_s <<<"$r"
  awk -v n="$name" -v c="$c" -v a="$per_s" -v m="$pg_tps" -v b="$pg_tps_before" -v f="$pg_tps_after" \
    'BEGIN {lo = a / (b > f ? b : f); hi = a / (b < f ? b : f)
            printf "%s (%s connections): %.1f/s, ratio=%.2f (%.2f-%.2f against either run)\n", n, c, a, a / m, lo, hi}'
done
sleep 1
rss=$(peak_rss_kib | awk '{printf "%.0f MiB", $1/1024}')
echo "service peak RSS (VmHWM): $rss"
curl -s "http://127.0.0.1:$port/metrics" | grep '^evoucher_group_commit_size_\(sum\|count\)' || true
kill "$service_pid"; wait "$service_pid" || true; service_pid=

rows=$("${psql[@]}" "$url" -At -c "SELECT count(*) FROM payments")
# A request in flight when wrk stopped was committed, but wrk never read its answer.
echo "payment rows: $rows; approvals wrk read: $total_approved (difference: requests in flight at wrk's stop)"
if ((rows < total_approved || rows - total_approved > 3 * conns)); then echo "FAIL: payment rows do not match approvals"; failed=1; fi
if [[ "${BENCH_STATEMENTS:-0}" == 1 ]]; then
  echo "== pg_stat_statements, top 12 by total time"
  "${psql[@]}" "$url" -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
    round(mean_exec_time::numeric, 3) AS mean_ms, rows / greatest(calls, 1) AS rows_per_call,
    left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'evoucher')
    ORDER BY total_exec_time DESC LIMIT 12"
fi
t0=$(date +%s.%N)
if [[ "$ceiling" == 1 ]]; then
  echo "verify: skipped, the ceiling keeps no balances"
elif EVOUCHER_DATABASE_URL=$url ./build/evoucher verify >"$work/verify.log"; then
  echo "verify: $(tail -1 "$work/verify.log") in $(since "$t0") s"
else
  grep -v '^ok' "$work/verify.log"; failed=1
fi
exit $failed
