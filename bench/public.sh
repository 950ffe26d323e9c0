#!/usr/bin/env bash
# npm run bench:public — public URLs: one 4 KiB and one 1 MiB object through a custom
# domain on swiftgate (cluster, warm cache) and the same files from disk by nginx
# (2 workers) in the same run, with wrk. Prints req/s, p99 and swiftgate/nginx ratios.
# Loopback only; every load phase is bounded by BENCH_DURATION (default 10s).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(dirname "$HERE")"
SG_PORT="${BENCH_SG_PORT:-18491}"
NGX_PORT="${BENCH_NGINX_PORT:-18492}"
DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
DOMAIN="st.bench.example"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"; [ -x "$NGINX" ] || { echo "nginx is needed (apt-get install nginx)" >&2; exit 1; }

work="$(mktemp -d /tmp/swiftgate-bench-public.XXXXXX)"; chmod 755 "$work"
cleanup() {
  [ -n "${SG_PID:-}" ] && kill "$SG_PID" 2>/dev/null && wait "$SG_PID" 2>/dev/null
  [ -f "$work/nginx/nginx.pid" ] && kill -QUIT "$(cat "$work/nginx/nginx.pid")" 2>/dev/null
  sleep 0.2; rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www/img" "$work/nginx"
head -c 4096 /dev/urandom > "$work/www/img/small.bin"
head -c 1048576 /dev/urandom > "$work/www/img/large.bin"
chmod -R a+rX "$work/www"

echo "== swiftgate on 127.0.0.1:$SG_PORT (workers: one per core)" >&2
node "$ROOT/bin/swiftgate.js" user add test:tester --key testing --admin --data "$work/data" >/dev/null
node "$ROOT/bin/swiftgate.js" serve --data "$work/data" --http "127.0.0.1:$SG_PORT" > "$work/swiftgate.log" 2>&1 &
SG_PID=$!
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$SG_PORT/healthcheck" >/dev/null && break; sleep 0.1; done
auth="$(curl -si -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "http://127.0.0.1:$SG_PORT/auth/v1.0")"
token="$(printf '%s' "$auth" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}')"
surl="$(printf '%s' "$auth" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-storage-url"{print $2}')"
curl -sf -X PUT -H "X-Auth-Token: $token" -H 'X-Container-Read: .r:*' "$surl/site" >/dev/null
for f in small large; do curl -sf -X PUT -H "X-Auth-Token: $token" -T "$work/www/img/$f.bin" "$surl/site/img/$f.bin" >/dev/null; done
node "$ROOT/bin/swiftgate.js" domain add "$DOMAIN" AUTH_test/site --data "$work/data" >&2

cat > "$work/nginx/nginx.conf" <<NGX
daemon on;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  types { application/octet-stream bin; }
  server { listen 127.0.0.1:$NGX_PORT; root $work/www; }
}
NGX
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf"
echo "== nginx on 127.0.0.1:$NGX_PORT (2 workers, files on disk)" >&2

# Warm both (and check the bytes are the same).
for f in small large; do
  a="$(curl -sf -H "Host: $DOMAIN" "http://127.0.0.1:$SG_PORT/img/$f.bin" | md5sum)"
  b="$(curl -sf "http://127.0.0.1:$NGX_PORT/img/$f.bin" | md5sum)"
  [ "$a" = "$b" ] || { echo "content differs for $f" >&2; exit 1; }
done

run() { # name host port path
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Host: $2" "http://127.0.0.1:$3$4" > "$work/$1.txt" 2>&1 || true
  local rps p99
  rps="$(awk '/^Requests\/sec/{print $2}' "$work/$1.txt")"
  p99="$(awk '$1=="99%"{print $2}' "$work/$1.txt")"
  printf '%s\t%s\t%s\n' "$1" "${rps:-0}" "${p99:-?}"
}
echo "== load: wrk -t$THREADS -c$CONNS -d$DURATION" >&2
{
  run sg-4k "$DOMAIN" "$SG_PORT" /img/small.bin
  run nginx-4k localhost "$NGX_PORT" /img/small.bin
  run sg-1m "$DOMAIN" "$SG_PORT" /img/large.bin
  run nginx-1m localhost "$NGX_PORT" /img/large.bin
} > "$work/summary.tsv"

node - "$work/summary.tsv" <<'JS'
const fs = require('fs');
const rows = Object.fromEntries(fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => { const [k, rps, p99] = l.split('\t'); return [k, { rps: Number(rps), p99 }]; }));
const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('object', 10)}${pad('swiftgate (custom domain)', 32)}${pad('nginx (disk, 2 workers)', 32)}swiftgate/nginx`);
for (const [label, k] of [['4 KiB', '4k'], ['1 MiB', '1m']]) {
  const a = rows[`sg-${k}`], b = rows[`nginx-${k}`];
  console.log(`${pad(label, 10)}${pad(`${a.rps.toFixed(0)} req/s  p99 ${a.p99}`, 32)}${pad(`${b.rps.toFixed(0)} req/s  p99 ${b.p99}`, 32)}${(a.rps / b.rps).toFixed(2)}x`);
}
console.log(`\n4 KiB vs OpenStack Swift's 250-540 req/s (anonymous GET, measured with bench:http): ${(rows['sg-4k'].rps / 540).toFixed(0)}-${(rows['sg-4k'].rps / 250).toFixed(0)}x`);
JS
