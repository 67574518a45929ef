#!/usr/bin/env bash
# Checks docker/systemd: systemd-analyze verifies every unit (with the binary path pointed at the
# build), each timer's calendar is valid and starts its own service, and each batch service's
# command is one the binary accepts.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-build/evoucher}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in docker/systemd/*.service docker/systemd/*.timer; do
  sed "s|/usr/local/bin/evoucher|$(realpath "$binary")|g" "$unit" >"$work/$(basename "$unit")"
done
out=$(cd "$work" && systemd-analyze verify ./*.service ./*.timer 2>&1 | grep -v -e 'EnvironmentFile' -e '/etc/evoucher' || true)
if [[ -n $out ]]; then
  echo "$out"
  exit 1
fi
for timer in docker/systemd/*.timer; do
  service=$(basename "$timer" .timer).service
  [[ -f docker/systemd/$service ]] || { echo "$timer has no $service"; exit 1; }
  calendar=$(sed -n 's/^OnCalendar=//p' "$timer")
  systemd-analyze calendar "$calendar" >/dev/null
  # The batch's own arguments, less --config: the binary must take them (a usage error exits 2).
  args=$(sed -n 's|^ExecStart=/usr/local/bin/evoucher ||p' "docker/systemd/$service" | sed 's| --config .*||')
  set +e
  EVOUCHER_DATABASE_URL="host=/nonexistent" timeout 20 "$binary" $args >"$work/out" 2>&1
  code=$?
  set -e
  if [[ $code == 2 ]]; then
    echo "$service: evoucher refuses '$args':"
    cat "$work/out"
    exit 1
  fi
  echo "$timer: $calendar -> evoucher $args"
done
