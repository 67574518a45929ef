#!/usr/bin/env bash
# Checks docker/systemd: systemd-analyze verifies every unit (with the programs' paths pointed at
# the build and at scripts/), each timer's calendar is valid and starts its own service, and each
# timer's command is one its program accepts: a batch's arguments the evoucher binary takes, or
# evoucher-backup's (scripts/backup.sh) `take full|diff|incr`.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-build/evoucher}
backup=scripts/backup.sh
if grep -q '^ExecStart=/usr/local/bin/evoucher-backup ' docker/systemd/*.service && [[ ! -x $backup ]]; then
  echo "$backup is missing or not executable: the backup units run it as /usr/local/bin/evoucher-backup"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in docker/systemd/*.service docker/systemd/*.timer; do
  sed -e "s|/usr/local/bin/evoucher-backup |$(realpath "$backup") |g" \
    -e "s|/usr/local/bin/evoucher |$(realpath "$binary") |g" "$unit" >"$work/$(basename "$unit")"
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
  command=$(sed -n 's/^ExecStart=//p' "docker/systemd/$service")
  case $command in
    "/usr/local/bin/evoucher "*)
      # The batch's own arguments, less --config: the binary must take them (a usage error exits 2).
      args=$(sed 's|^/usr/local/bin/evoucher ||; s| --config .*||' <<<"$command")
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
      ;;
    "/usr/local/bin/evoucher-backup "*)
      # Run, it would back up: only its subcommand is checked.
      args=${command#/usr/local/bin/evoucher-backup }
      if [[ ! $args =~ ^take\ (full|diff|incr)$ ]]; then
        echo "$service: evoucher-backup takes 'take full|diff|incr', not '$args'"
        exit 1
      fi
      echo "$timer: $calendar -> evoucher-backup $args"
      ;;
    *)
      echo "$service: runs neither /usr/local/bin/evoucher nor /usr/local/bin/evoucher-backup: $command"
      exit 1
      ;;
  esac
done
