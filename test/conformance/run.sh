#!/usr/bin/env bash
# OpenStack Swift's own functional tests (core modules) against swiftgate.
# Starts the gateway on $SWIFTGATE_PORT (8089), runs ../shared/conformance/swift-functests,
# stops the gateway, prints the runner's last line and exits with its code.
# SWIFTGATE_CONFORMANCE_WORKERS (2): HTTP workers of `swiftgate serve`, the default
# deployment (a primary serving the metadata to its workers); 1 runs the gateway
# single-process in serve.ts.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RUNNER="$(dirname "$REPO")/shared/conformance/swift-functests"
PORT="${SWIFTGATE_PORT:-8089}"
LOG="${SWIFTGATE_LOG:-/tmp/swiftgate-conformance.log}"
WORKERS="${SWIFTGATE_CONFORMANCE_WORKERS:-2}"

cd "$REPO"
SWIFTGATE_PORT="$PORT" SWIFTGATE_CONFORMANCE_WORKERS="$WORKERS" node --import tsx test/conformance/serve.ts >"$LOG" 2>&1 &
GW=$!
stop() { kill "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; }
trap stop EXIT

for _ in $(seq 1 400); do
  grep -q "gateway on" "$LOG" 2>/dev/null && break
  kill -0 "$GW" 2>/dev/null || { echo "gateway failed to start; see $LOG" >&2; cat "$LOG" >&2; exit 2; }
  sleep 0.2
done

grep -m1 "gateway on" "$LOG" >&2 || { echo "gateway did not start in time; see $LOG" >&2; exit 2; }

if [ "$#" -eq 0 ]; then
  set -- test/functional/tests.py test/functional/test_account.py \
         test/functional/test_container.py test/functional/test_object.py
fi
OUT="$(SWIFT_AUTH_PORT="$PORT" SWIFT_STORAGE_DOMAIN="" "$RUNNER" "$@")"
rc=$?
echo "$OUT" | tail -n 1
exit $rc
