#!/usr/bin/env bash
# Every test: type check, the vitest suite (unit tests beside the code, integration
# tests under test/ with real clients and servers), then OpenStack Swift's own
# functional tests against a running swiftgate. Ends with one line
# "N passed, N failed, N skipped" over all of them; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh || { echo "could not install the Debian packages the tests need" >&2; exit 1; }

out="${SWIFTGATE_TEST_OUT:-/tmp/swiftgate-test-out}"
mkdir -p "$out"
status=0

echo "== type check"
npx tsc --noEmit -p . || status=1

echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json" || status=1

echo "== Swift functional tests (conformance)"
bash test/conformance/run.sh | tee "$out/conformance.txt" || status=1

node -e '
const fs = require("fs");
let p = 0, f = 0, s = 0;
try {
  const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  p += v.numPassedTests; f += v.numFailedTests; s += v.numPendingTests + (v.numTodoTests || 0);
  if (v.numFailedTestSuites) f += 0;
} catch { f += 1; }
try {
  const lines = fs.readFileSync(process.argv[2], "utf8").trim().split("\n");
  const m = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(lines[lines.length - 1] || "");
  if (m) { p += +m[1]; f += +m[2]; s += +m[3]; } else f += 1;
} catch { f += 1; }
console.log(`${p} passed, ${f} failed, ${s} skipped`);
' "$out/vitest.json" "$out/conformance.txt"
exit $status
