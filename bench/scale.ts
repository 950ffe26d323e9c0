/**
 * npm run bench:scale — the scale-out configuration (PostgreSQL metadata + S3 blobs on
 * Swift's s3api, all started here) under load, in one bounded run (~2 minutes):
 *
 *   HTTP, 4 KiB objects, wrk with 16 connections for BENCH_SECONDS (default 8) each:
 *     one gateway direct · one behind nginx · two behind nginx (round robin) ·
 *     one gateway on PostgreSQL + local disk (what S3 costs end to end)
 *   Blob store alone, 4 KiB PUT/GET with 16 in flight: S3BlobStore vs LocalDiskBlobStore.
 *
 * Gateways are processes (`swiftgate serve`, one HTTP worker each), nginx runs
 * deploy/nginx.conf. Everything shares this machine's cores, the S3 server included.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BlobStore } from '../storage-backends/blob-store.ts';
import { LocalDiskBlobStore } from '../storage-backends/local-disk.ts';
import { S3BlobStore } from '../storage-backends/s3.ts';
import {
  type GatewayProcess,
  type Nginx,
  type SharedBackends,
  login,
  spawnGateway,
  startGateways,
  startNginx,
  startSharedBackends,
  writeGatewayConfig,
} from '../test/scale/cluster.ts';
import { freePort } from '../test/scale/ports.ts';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 16;
const SMALL = 4096;
const log = (m: string): void => void process.stderr.write(`bench:scale: ${m}\n`);

interface Row {
  setup: string;
  op: string;
  rate: number;
  latency: string;
  errors: number;
}

const LUA = `
local token, base, method = "%TOKEN%", "%BASE%", "%METHOD%"
local body = nil
if method == "PUT" then body = string.rep("x", ${SMALL}) end
local n, ids = 0, 0
function setup(thread) ids = ids + 1; thread:set("tid", ids) end
function request()
  n = n + 1
  local name
  if method == "PUT" then name = "p" .. tostring(tid) .. "-" .. n else name = "g" .. (n % 100) end
  return wrk.format(method, base .. name, { ["X-Auth-Token"] = token, ["Content-Type"] = "application/octet-stream" }, body)
end
`;

async function wrk(url: string, token: string, base: string, method: 'GET' | 'PUT', dir: string): Promise<Omit<Row, 'setup' | 'op'>> {
  const script = join(dir, `${method}.lua`);
  writeFileSync(script, LUA.replace('%TOKEN%', token).replace('%BASE%', base).replace('%METHOD%', method));
  const { stdout } = await run('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', script, url], { timeout: (SECONDS + 30) * 1000 });
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const latency = /Latency\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors:.*?timeout (\d+)/.exec(stdout)?.[1] ?? 0);
  return { rate, latency, errors };
}

/** GET and PUT of 4 KiB through `url` (a gateway or the load balancer). */
async function httpRows(setup: string, url: string, dir: string, container: string): Promise<Row[]> {
  const { token, storageUrl } = await login(url);
  const base = `${new URL(storageUrl).pathname}/${container}/`;
  const h = { 'X-Auth-Token': token };
  await fetch(`${url}${base.slice(0, -1)}`, { method: 'PUT', headers: h });
  const body = randomBytes(SMALL);
  for (let i = 0; i < 100; i++) await fetch(`${url}${base}g${i}`, { method: 'PUT', headers: h, body: new Uint8Array(body) });
  const rows: Row[] = [];
  for (const op of ['GET', 'PUT'] as const) {
    log(`${setup}: ${op} ${SECONDS} s`);
    rows.push({ setup, op: `${op} 4 KiB`, ...(await wrk(url, token, base, op, dir)) });
  }
  return rows;
}

async function blobRows(name: string, store: BlobStore): Promise<Row[]> {
  const body = randomBytes(SMALL);
  const ids: string[] = [];
  const timed = async (op: string, fn: (i: number) => Promise<void>): Promise<Row> => {
    let n = 0;
    let errors = 0;
    const t0 = performance.now();
    const until = t0 + Math.min(SECONDS, 5) * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < until) {
          try {
            await fn(n++);
          } catch {
            errors++;
          }
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    return { setup: name, op, rate: n / s, latency: `${((s * 1000 * CONNECTIONS) / Math.max(n, 1)).toFixed(1)}ms`, errors };
  };
  const put = await timed('blob PUT 4 KiB', async () => {
    const id = store.newBlobId();
    await store.write(id, Readable.from([body]), { expectedSize: SMALL });
    ids.push(id);
  });
  const get = await timed('blob GET 4 KiB', async (i) => {
    for await (const _ of await store.read(ids[i % ids.length] as string)) void _;
  });
  for (const id of ids) await store.delete(id).catch(() => undefined);
  return [put, get];
}

function table(rows: Row[]): string {
  const head = ['setup', 'operation', 'req/s', 'avg latency', 'errors'];
  const body = rows.map((r) => [r.setup, r.op, r.rate.toFixed(0), r.latency, String(r.errors)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i >= 2 ? c.padStart(w[i] ?? 0) : c.padEnd(w[i] ?? 0))).join(' | ')} |`;
  return [line(head), `|${w.map((n, i) => (i >= 2 ? `${'-'.repeat(n + 1)}:` : '-'.repeat(n + 2))).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'swiftgate-bench-scale-'));
  let b: SharedBackends | undefined;
  const gateways: GatewayProcess[] = [];
  const lbs: Nginx[] = [];
  const rows: Row[] = [];
  const everyGateway: GatewayProcess[] = [];
  try {
    log('starting PostgreSQL and the S3 server (Swift s3api)');
    b = await startSharedBackends({ bucket: 'bench' });
    gateways.push(...(await startGateways(b, 2)));
    everyGateway.push(...gateways);
    const [A, B] = gateways as [GatewayProcess, GatewayProcess];
    rows.push(...(await httpRows('1 gateway, direct', A.url, dir, 'one')));
    lbs.push(await startNginx([A.port]));
    rows.push(...(await httpRows('1 gateway, nginx', (lbs[0] as Nginx).url, dir, 'one-lb')));
    lbs.push(await startNginx([A.port, B.port]));
    rows.push(...(await httpRows('2 gateways, nginx', (lbs[1] as Nginx).url, dir, 'two-lb')));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
    const port = await freePort();
    const local = await spawnGateway('local', writeGatewayConfig(b, { name: 'local', port, blobs: 'local' }), port);
    gateways.push(local);
    everyGateway.push(local);
    rows.push(...(await httpRows('1 gateway, PG + local disk', local.url, dir, 'local')));

    const s3 = await S3BlobStore.open({
      bucket: b.bucket,
      prefix: 'blob-bench/',
      region: b.s3.region,
      endpoint: b.s3.endpoint,
      forcePathStyle: true,
      accessKeyId: b.s3.accessKeyId,
      secretAccessKey: b.s3.secretAccessKey,
    });
    rows.push(...(await blobRows('S3BlobStore (s3api)', s3)));
    await s3.close();
    const disk = await LocalDiskBlobStore.open({ root: join(dir, 'blobs') });
    rows.push(...(await blobRows('LocalDiskBlobStore', disk)));
    await disk.close();
  } finally {
    // Errors in a row: show what the gateways said.
    if (rows.some((r) => r.errors > 0)) for (const g of everyGateway) log(`gateway ${g.name} log (tail):\n${g.logs().slice(-3000)}`);
    for (const lb of lbs) await lb.stop().catch(() => undefined);
    for (const g of gateways) await g.stop().catch(() => undefined);
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${table(rows)}\n\n${CONNECTIONS} connections, ${SECONDS} s per HTTP row (wrk), 4 KiB objects; GETs hit 100 hot objects.\n`);
}

await main();
