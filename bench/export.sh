#!/usr/bin/env bash
# The CSV export's memory and speed, in one run:
#   1. a fresh PostgreSQL 15 with the demo, and BENCH_ROWS (1,000,000) payments of one district's
#      business date inserted in bulk;
#   2. the reference: psql's \copy of the same rows and columns to CSV, timed;
#   3. GET /v1/payments?format=csv for that date, read at full speed and then by a client that
#      reads at 5 MB/s, with the service's peak RSS (VmHWM) before and after each.
# The export must have every row. Prints the time ratio against \copy, and the RSS growth.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v curl >/dev/null || { echo "export bench: needs curl"; exit 1; }
scripts/setup.sh
scripts/build.sh >/dev/null
rows=${BENCH_ROWS:-1000000}
source bench/lib.sh
bench_pg_start "-c shared_buffers=512MB -c max_wal_size=4GB" evoucher
EVOUCHER_DATABASE_URL=$url ./build/evoucher migrate >/dev/null
EVOUCHER_DATABASE_URL=$url ./build/evoucher seed demo >/dev/null

t0=$(date +%s.%N)
# One journal and one payment per row, through m1's card at the four Bupyeong merchants, 80 ms
# apart from midnight on 2020-03-02 (Seoul). Journals need no entries for a listing.
"${psql[@]}" "$url" <<SQL
INSERT INTO journals (district, id, kind, occurred_at, reference)
  SELECT 'bupyeong', 1000000000 + i, 'payment', timestamptz '2020-03-02 00:00:00+09' + i * interval '80 milliseconds',
         'pay-bupyeong-' || (2000000000 + i)
    FROM generate_series(1, $rows) i;
INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district,
                      merchant_category, merchant_revenue, channel, price, discount, charged, paid_points, paid_cash,
                      eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, fee_support,
                      occurred_at, business_date, journal_id)
  SELECT 'bupyeong', 2000000000 + i, 'bench-' || i, 'c1', 'm1', m.id, 'bupyeong', m.category, m.annual_revenue,
         'card', 1000 + i % 9000, 0, 1000 + i % 9000, 0, 1000 + i % 9000, 0, 1000 + i % 9000, (1000 + i % 9000) / 10,
         0, 0, 0, timestamptz '2020-03-02 00:00:00+09' + i * interval '80 milliseconds', '2020-03-02', 1000000000 + i
    FROM generate_series(1, $rows) i
    JOIN (SELECT id, category, annual_revenue, row_number() OVER (ORDER BY id) - 1 AS n FROM merchants
           WHERE district = 'bupyeong') m ON m.n = i % 4;
ANALYZE payments;
SQL
echo "== $rows payments inserted in $(since "$t0") s"

echo "== reference: psql \\copy of the same rows to CSV"
t0=$(date +%s.%N)
"${psql[@]}" "$url" -c "\\copy (SELECT id, event_id, occurred_at, member_id, merchant_id, merchant_district, channel,
  price, discount, charged, paid_program, paid_points, paid_cash, city_cashback, district_cashback, merchant_cashback,
  fee_support, cancelled FROM payments WHERE district = 'bupyeong' AND business_date = '2020-03-02'
  ORDER BY occurred_at, id) TO '$work/copy.csv' CSV HEADER"
copy_s=$(since "$t0")
echo "copy: $copy_s s, $(wc -c <"$work/copy.csv") bytes"

token=bench-token-$RANDOM$RANDOM
bench_serve EVOUCHER_ADMIN_TOKEN="$token"
target="http://127.0.0.1:$port/v1/payments?district=bupyeong&business_date=2020-03-02&format=csv"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/payments?district=bupyeong&business_date=2020-03-02&limit=10" >/dev/null
before=$(peak_rss_kib)
echo "== the export; service peak RSS before it: $((before / 1024)) MiB"
failed=0
export_run() {  # name curl-options...
  local name=$1
  shift
  local t0 took lines peak
  t0=$(date +%s.%N)
  curl -sf "$@" -H "Authorization: Bearer $token" -o "$work/$name.csv" "$target"
  took=$(since "$t0")
  lines=$(($(wc -l <"$work/$name.csv") - 1))
  peak=$(peak_rss_kib)
  awk -v n="$name" -v s="$took" -v c="$copy_s" -v b="$(wc -c <"$work/$name.csv")" -v l="$lines" -v p="$peak" -v r="$before" \
    'BEGIN {printf "%s: %s s (%.2fx \\copy), %d bytes, %d rows; peak RSS %.0f MiB (+%.1f MiB)\n", n, s, s / c, b, l, p / 1024, (p - r) / 1024}'
  if ((lines != rows)); then echo "FAIL: $name has $lines rows, not $rows"; failed=1; fi
}
export_run full-speed
export_run slow-reader --limit-rate 5M
exit $failed
