#!/usr/bin/env bash
# The HTTP test suite (test/http) and Swift's functional tests (test/conformance/run.sh)
# on the scale-out configuration: PostgreSQL metadata + S3 blobs (Swift's s3api), both
# started here and stopped afterwards. Each vitest file gets a fresh database and S3
# prefix; the conformance gateway uses the base database.
#   bash test/scale/run-http-suite-on-shared.sh [http|conformance]...   (default: both)
set -uo pipefail
cd "$(dirname "$0")/../.."
ENVF="$(mktemp)"
LOG="${SWIFTGATE_SHARED_LOG:-/tmp/swiftgate-shared-backends.log}"
node --import tsx test/scale/shared-up.ts "$ENVF" >"$LOG" 2>&1 &
UP=$!
stop() {
  kill "$UP" 2>/dev/null
  wait "$UP" 2>/dev/null
  grep "per-file databases" "$LOG"
  rm -f "$ENVF"
}
trap stop EXIT
for _ in $(seq 1 3000); do
  grep -q "shared backends up" "$LOG" 2>/dev/null && break
  kill -0 "$UP" 2>/dev/null || { echo "shared backends failed to start; see $LOG" >&2; cat "$LOG" >&2; exit 2; }
  sleep 0.2
done
grep -q "shared backends up" "$LOG" || { echo "shared backends did not start in time" >&2; exit 2; }
# shellcheck disable=SC1090
source "$ENVF"

[ "$#" -eq 0 ] && set -- http conformance
status=0
for what in "$@"; do
  case "$what" in
    http)
      echo "== test/http on PostgreSQL + S3"
      timeout "${HTTP_SUITE_TIMEOUT:-1800}" npx vitest run --config test/scale/vitest.shared.config.ts test/http || status=1
      ;;
    conformance)
      echo "== Swift functional tests on PostgreSQL + S3"
      timeout "${CONFORMANCE_TIMEOUT:-2400}" bash test/conformance/run.sh || status=1
      ;;
    *) echo "unknown part: $what" >&2; status=2 ;;
  esac
done
exit $status
