#!/usr/bin/env bash
# npm run bench:http — the same load against swiftgate and against a real OpenStack
# Swift proxy (../shared/reference/swift-aio) in one run: 4 KiB GET with a token and
# anonymous, HEAD, 4 KiB PUT (unique names), 100 MiB GET. Prints swiftgate/Swift ratios.
# Loopback only; every load phase is bounded by BENCH_DURATION (default 10s).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(dirname "$HERE")"
SHARED="${SWIFTGATE_SHARED:-$(dirname "$ROOT")/shared}"
OUT="${BENCH_OUT_ROOT:-/tmp/swiftgate-bench-http}"
SG_PORT="${BENCH_SG_PORT:-18391}"
AIO_PORT="${BENCH_SWIFT_PORT:-18380}"
export BENCH_DURATION="${BENCH_DURATION:-10s}"
rm -rf "$OUT"; mkdir -p "$OUT"

data="$(mktemp -d /tmp/swiftgate-bench-data.XXXXXX)"
cleanup() {
  [ -n "${SG_PID:-}" ] && kill "$SG_PID" 2>/dev/null && wait "$SG_PID" 2>/dev/null
  SWIFT_AIO_DIR="$OUT/aio" "$SHARED/reference/swift-aio/stop.sh" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT

echo "== starting swiftgate on 127.0.0.1:$SG_PORT (workers: ${SWIFTGATE_WORKERS:-one per core})" >&2
node "$ROOT/bin/swiftgate.js" user add test:tester --key testing --admin --data "$data" >/dev/null
node "$ROOT/bin/swiftgate.js" serve --data "$data" --http "127.0.0.1:$SG_PORT" > "$OUT/swiftgate.log" 2>&1 &
SG_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$SG_PORT/healthcheck" >/dev/null && break; sleep 0.1; done

echo "== starting the reference Swift all-in-one on 127.0.0.1:$AIO_PORT" >&2
SWIFT_AIO_DIR="$OUT/aio" SWIFT_PROXY_PORT="$AIO_PORT" SWIFT_OBJECT_PORT=16310 SWIFT_CONTAINER_PORT=16311 \
  SWIFT_ACCOUNT_PORT=16312 SWIFT_MEMCACHE_PORT=11411 SWIFT_PROXY_WORKERS=2 SWIFT_DATA_DIR="$OUT/aio/data" \
  SWIFT_AIO_RESET=1 "$SHARED/reference/swift-aio/start.sh" > "$OUT/aio-start.log" 2>&1

echo "== load: swiftgate" >&2
BENCH_OUT="$OUT/swiftgate" SWIFT_PROXY_PORT="$SG_PORT" BENCH_NGINX=0 bash "$SHARED/reference/swift-aio/bench.sh" >&2
echo "== load: OpenStack Swift (2 proxy workers, data on disk)" >&2
BENCH_OUT="$OUT/swift" SWIFT_PROXY_PORT="$AIO_PORT" BENCH_NGINX=0 bash "$SHARED/reference/swift-aio/bench.sh" >&2

node - "$OUT/swiftgate/summary.tsv" "$OUT/swift/summary.tsv" <<'JS'
const fs = require('fs');
const read = (f) => {
  const rows = {};
  for (const line of fs.readFileSync(f, 'utf8').trim().split('\n').slice(1)) {
    const [, kase, rps, , , p99] = line.split('\t');
    if (kase.startsWith('get100MiB')) {
      const m = /MiB\/s=([\d.]+)/.exec(rps + line);
      (rows.get100MiB ??= []).push(m ? Number(m[1]) : NaN);
    } else rows[kase] = { rps: Number(rps), p99 };
  }
  return rows;
};
const sg = read(process.argv[2]), sw = read(process.argv[3]);
const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('case', 16)}${pad('swiftgate', 22)}${pad('swift', 22)}ratio`);
for (const k of ['get4k-anon', 'get4k-token', 'head4k-token', 'put4k-token']) {
  const a = sg[k], b = sw[k];
  if (!a || !b) continue;
  console.log(`${pad(k, 16)}${pad(`${a.rps.toFixed(0)} req/s p99 ${a.p99}`, 22)}${pad(`${b.rps.toFixed(0)} req/s p99 ${b.p99}`, 22)}${(a.rps / b.rps).toFixed(1)}x`);
}
const best = (v) => Math.max(...(v ?? [NaN]));
console.log(`${pad('get100MiB', 16)}${pad(`${best(sg.get100MiB).toFixed(0)} MiB/s`, 22)}${pad(`${best(sw.get100MiB).toFixed(0)} MiB/s`, 22)}${(best(sg.get100MiB) / best(sw.get100MiB)).toFixed(1)}x`);
JS
