#!/usr/bin/env bash
# Sends a signed card-processor call, as the processor would:
#   scripts/processor-call.sh /v1/processor/payments '{"event_id":"e1",...}'
# The secret comes from EVOUCHER_PROCESSOR_SECRET, or var/demo.env written by scripts/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${EVOUCHER_PROCESSOR_SECRET:-}" && -f var/demo.env ]]; then
  set -a; . var/demo.env; set +a
fi
: "${EVOUCHER_PROCESSOR_SECRET:?set EVOUCHER_PROCESSOR_SECRET}"
path=$1 body=$2
t=$(date +%s)
sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$EVOUCHER_PROCESSOR_SECRET" -hex | awk '{print $NF}')
curl -s -X POST "http://${EVOUCHER_LISTEN:-127.0.0.1:8080}$path" \
  -H 'Content-Type: application/json' -H "X-Evoucher-Signature: t=$t,v1=$sig" -d "$body"
echo
