/**
 * Two gateway processes on one PostgreSQL and one S3 server (Swift's s3api): one
 * namespace, and a write acknowledged by one is what the other serves on the very next
 * request, warm cache or not — through the API path and through a custom domain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config.ts';
import { openCore } from '../../src/core.ts';
import { fsck } from '../../src/fsck.ts';
import { S3BlobStore } from '../../storage-backends/s3.ts';
import { type GatewayProcess, type SharedBackends, login, spawnGateway, startGateways, startNginx, startSharedBackends, swiftgateCli } from './cluster.ts';

const MiB = 1024 * 1024;
let b: SharedBackends;
let A: GatewayProcess;
let B: GatewayProcess;
let auth: { token: string; storageUrl: string };
let s3: S3Client;
const md5 = (x: Buffer | string): string => createHash('md5').update(x).digest('hex');

/** The storage URL as seen through gateway `g` (same account, same token: one namespace). */
const at = (g: { url: string }, path: string): string => `${g.url}${new URL(auth.storageUrl).pathname}${path}`;
const hdr = (): Record<string, string> => ({ 'X-Auth-Token': auth.token });

async function put(g: { url: string }, path: string, body: Buffer | string): Promise<string> {
  const r = await fetch(at(g, path), { method: 'PUT', headers: hdr(), body: typeof body === 'string' ? body : new Uint8Array(body) });
  expect(r.status).toBe(201);
  return r.headers.get('etag') ?? '';
}

async function get(g: { url: string }, path: string): Promise<{ status: number; etag: string | null; body: Buffer }> {
  const r = await fetch(at(g, path), { headers: hdr() });
  return { status: r.status, etag: r.headers.get('etag'), body: Buffer.from(await r.arrayBuffer()) };
}

/** GET with a Host header (fetch does not let one set it): the custom-domain view. */
function hostGet(g: GatewayProcess, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: g.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const DOMAIN = 'files.customer.example';

beforeAll(async () => {
  b = await startSharedBackends();
  [A, B] = (await startGateways(b, 2)) as [GatewayProcess, GatewayProcess];
  auth = await login(A.url);
  s3 = new S3Client({
    region: b.s3.region,
    endpoint: b.s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: b.s3.accessKeyId, secretAccessKey: b.s3.secretAccessKey },
  });
  expect((await fetch(at(A, '/c'), { method: 'PUT', headers: hdr() })).status).toBe(201);
  expect((await fetch(at(A, '/pub'), { method: 'PUT', headers: { ...hdr(), 'X-Container-Read': '.r:*' } })).status).toBe(201);
}, 400_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([A?.stop(), B?.stop()]);
  await b?.stop();
}, 120_000);

describe('two gateways, one namespace', () => {
  it('serves through B, byte for byte, what was just written through A', async () => {
    for (const size of [0, 1, 4096, 300_000, 2 * MiB]) {
      const body = randomBytes(size);
      const etag = await put(A, `/c/bytes-${size}`, body);
      const r = await get(B, `/c/bytes-${size}`);
      expect(r.status).toBe(200);
      expect(r.etag).toBe(etag);
      expect(r.body.equals(body)).toBe(true);
    }
  });

  it('never serves a stale answer through B after a write through A, with B\'s cache warm', async () => {
    const stale: string[] = [];
    for (let i = 0; i < 200; i++) {
      const path = `/c/hot-${i % 3}`;
      // create, read twice through B (now cached), overwrite, read, delete, read.
      const v1 = `v1 ${i} ${randomBytes(8).toString('hex')}`;
      await put(A, path, v1);
      for (let k = 0; k < 2; k++) {
        const r = await get(B, path);
        if (r.status !== 200 || r.body.toString() !== v1) stale.push(`${i} create: ${r.status} ${r.body.toString()}`);
      }
      const v2 = `v2 ${i} ${randomBytes(8).toString('hex')}`;
      await put(A, path, v2);
      const r2 = await get(B, path);
      if (r2.status !== 200 || r2.etag !== md5(v2)) stale.push(`${i} overwrite: ${r2.status} ${r2.etag}`);
      expect((await fetch(at(A, path), { method: 'DELETE', headers: hdr() })).status).toBe(204);
      const r3 = await get(B, path);
      if (r3.status !== 404) stale.push(`${i} delete: ${r3.status} ${r3.body.toString()}`);
      const head = await fetch(at(B, path), { method: 'HEAD', headers: hdr() });
      if (head.status !== 404) stale.push(`${i} delete (HEAD): ${head.status}`);
    }
    expect(stale).toEqual([]);
    // Listings too: B's cached listing of the container follows A's writes.
    const names = async () => (await (await fetch(at(B, '/c?format=json'), { headers: hdr() })).json()) as Array<{ name: string }>;
    expect((await names()).some((o) => o.name.startsWith('hot-'))).toBe(false);
    await put(A, '/c/listed', 'x');
    expect((await names()).some((o) => o.name === 'listed')).toBe(true);
  }, 600_000);

  it('serves a custom domain through B that follows writes and domain changes made through A', async () => {
    await swiftgateCli(['domain', 'add', DOMAIN, 'AUTH_test/pub', '--config', `${b.dir}/a.toml`]);
    const stale: string[] = [];
    for (let i = 0; i < 40; i++) {
      const v = `page ${i} ${randomBytes(6).toString('hex')}`;
      await put(A, '/pub/index.txt', v);
      for (let k = 0; k < 2; k++) {
        const r = await hostGet(B, DOMAIN, '/index.txt');
        if (r.status !== 200 || r.body !== v) stale.push(`${i} put: ${r.status} ${r.body}`);
      }
      expect((await fetch(at(A, '/pub/index.txt'), { method: 'DELETE', headers: hdr() })).status).toBe(204);
      const r = await hostGet(B, DOMAIN, '/index.txt');
      if (r.status !== 404) stale.push(`${i} delete: ${r.status} ${r.body}`);
    }
    expect(stale).toEqual([]);
    // The mapping itself: B's resolver cache drops it on the next request after removal elsewhere.
    await put(A, '/pub/index.txt', 'mapped');
    expect((await hostGet(B, DOMAIN, '/index.txt')).body).toBe('mapped');
    await swiftgateCli(['domain', 'remove', DOMAIN, '--config', `${b.dir}/a.toml`]);
    expect((await hostGet(B, DOMAIN, '/index.txt')).body).not.toBe('mapped');
  }, 120_000);

  it('behind nginx (deploy/nginx.conf, round robin over A and B), each request sees the one before it', async () => {
    const lb = await startNginx([A.port, B.port]);
    try {
      const stale: string[] = [];
      for (let i = 0; i < 60; i++) {
        const path = `/c/lb-${i % 2}`;
        const v = `lb ${i} ${randomBytes(8).toString('hex')}`;
        const etag = await put(lb, path, v);
        for (let k = 0; k < 2; k++) {
          const r = await get(lb, path);
          if (r.etag !== etag) stale.push(`${i} put: ${r.status} ${r.etag}`);
        }
        expect((await fetch(at(lb, path), { method: 'DELETE', headers: hdr() })).status).toBe(204);
        for (let k = 0; k < 2; k++) {
          const r = await get(lb, path);
          if (r.status !== 404) stale.push(`${i} delete: ${r.status}`);
        }
      }
      expect(stale).toEqual([]);
    } finally {
      await lb.stop();
    }
  }, 120_000);

  it('survives A being killed mid-upload: B serves on, the object never appears, and nothing partial is left', async () => {
    // Stream 48 MiB into A slowly enough that S3 multipart parts are in flight, then SIGKILL A.
    const url = new URL(at(A, '/c/big-interrupted'));
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { ...hdr(), 'Transfer-Encoding': 'chunked' } });
    const failed = new Promise<void>((resolve) => {
      req.on('error', () => resolve());
      req.on('response', () => resolve());
    });
    const chunk = randomBytes(MiB);
    for (let i = 0; i < 20; i++) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    await waitFor(async () => (await multipartUploads()).length > 0, 'a multipart upload to start', 20_000);
    A.child.kill('SIGKILL');
    await failed;

    // B goes on serving, and the object does not exist.
    expect((await get(B, '/c/bytes-4096')).status).toBe(200);
    expect((await get(B, '/c/big-interrupted')).status).toBe(404);
    await put(B, '/c/after-kill', 'still here');
    expect((await get(B, '/c/after-kill')).body.toString()).toBe('still here');

    // A comes back (start-up recovery runs) and sees the same namespace.
    A = await spawnGateway('a', `${b.dir}/a.toml`, A.port);
    expect((await get(A, '/c/after-kill')).body.toString()).toBe('still here');
    expect((await get(A, '/c/big-interrupted')).status).toBe(404);

    // No completed blob of the interrupted upload: every key in the bucket belongs to a record.
    const core = await openCore(loadConfig({ file: `${b.dir}/a.toml` }), 'owner');
    try {
      const report = await fsck(core.store, core.blobs, { pendingGraceMs: 0 });
      expect(report.problems.filter((p) => p.kind !== 'garbage-pending')).toEqual([]);
      // The upload's leftovers (an incomplete multipart upload, a pending mark) are young, so
      // a restart leaves them alone (they could be another gateway's upload in progress);
      // recovery with the abandoned-upload age set to zero, run here while both gateways
      // are idle, removes them.
      expect((await multipartUploads()).length).toBeGreaterThan(0);
      const s3cfg = core.config.blobs.s3;
      if (!s3cfg) throw new Error('no s3 config');
      const sweeper = await S3BlobStore.open({ ...s3cfg, abandonedUploadAgeMs: 0 });
      try {
        expect(await sweeper.cleanupIncomplete()).toBeGreaterThan(0);
      } finally {
        await sweeper.close();
      }
      await core.namespace.recover(Date.now());
      expect(await multipartUploads()).toEqual([]);
      expect(await core.store.listPendingBlobs(Date.now() + 1, 10)).toEqual([]);
      const clean = await fsck(core.store, core.blobs, { pendingGraceMs: 0 });
      expect(clean.problems).toEqual([]);
    } finally {
      await core.close();
    }
  }, 180_000);
});

async function keysInBucket(): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: b.bucket }));
  return (r.Contents ?? []).map((o) => o.Key ?? '');
}

async function multipartUploads(): Promise<string[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: b.bucket }));
  return (r.Uploads ?? []).map((u) => u.Key ?? '');
}

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
