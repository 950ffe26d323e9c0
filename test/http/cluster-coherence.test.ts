/**
 * Cluster mode as it runs: `swiftgate serve --workers 2` (real processes, real LevelDB).
 * A setting changed through one worker must be enforced by the other on the very next
 * request — workers cache settings (ACLs, quotas) and drop them only through the change
 * feed, which is acknowledged before the change is — and counts stay exact when both
 * workers write at once.
 *
 * Each client below holds one keep-alive connection, so it always talks to the same
 * worker; which one is read from X-Trans-Id (its head is per process) and checked on
 * every answer.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'swiftgate.js');
const exec = promisify(execFile);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(agent: Agent | undefined, port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) }, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

function workerOf(a: Answer): string {
  return String(a.headers['x-trans-id'] ?? '').slice(2, 13);
}

/** A client pinned to one worker. */
class Pinned {
  constructor(
    readonly agent: Agent,
    readonly worker: string,
    private readonly port: number,
  ) {}

  async req(method: string, path: string, token: string | undefined, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    const a = await send(this.agent, this.port, method, path, { ...(token ? { 'X-Auth-Token': token } : {}), ...headers }, body);
    if (workerOf(a) !== this.worker) throw new Error(`expected worker ${this.worker}, answered by ${workerOf(a)}`);
    return a;
  }
}

describe('cluster mode: settings and counts are coherent across workers', () => {
  let data: string;
  let server: ChildProcess;
  const port = 20000 + Math.floor(Math.random() * 20000);
  let A: Pinned;
  let B: Pinned;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'sg-cluster-'));
    for (const [u, k, ...flags] of [
      ['test:tester', 'testing', '--admin'],
      ['test:tester3', 'testing3'],
      ['admin:admin', 'admin', '--admin', '--reseller-admin'],
    ] as const)
      await exec('node', [BIN, 'user', 'add', u, '--key', k, ...flags, '--data', data]);
    server = spawn('node', [BIN, 'serve', '--data', data, '--http', `127.0.0.1:${port}`, '--workers', '2'], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      const ok = await send(undefined, port, 'GET', '/healthcheck').then((a) => a.status === 200, () => false);
      if (ok) break;
      if (i > 200) throw new Error('the server never came up');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [u, k] of [
      ['test:tester', 'testing'],
      ['test:tester3', 'testing3'],
      ['admin:admin', 'admin'],
    ] as const) {
      const a = await send(undefined, port, 'GET', '/auth/v1.0', { 'X-Auth-User': u, 'X-Auth-Key': k });
      tokens[u] = String(a.headers['x-auth-token']);
    }
    // One keep-alive connection per client; new connections until both workers have one.
    const pinned = new Map<string, Pinned>();
    for (let i = 0; i < 50 && pinned.size < 2; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const a = await send(agent, port, 'HEAD', '/v1/AUTH_test', { 'X-Auth-Token': tokens['test:tester'] ?? '' });
      const w = workerOf(a);
      if (pinned.has(w)) agent.destroy();
      else pinned.set(w, new Pinned(agent, w, port));
    }
    [A, B] = [...pinned.values()] as [Pinned, Pinned];
    if (!A || !B) throw new Error('could not reach two workers');
  }, 60_000);

  afterAll(async () => {
    A?.agent.destroy();
    B?.agent.destroy();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await rm(data, { recursive: true, force: true });
  });

  const admin = () => tokens['test:tester'];
  const user3 = () => tokens['test:tester3'];

  it('an ACL change through one worker is enforced by the other on the next request', async () => {
    expect((await A.req('PUT', '/v1/AUTH_test/acl', admin())).status).toBe(201);
    expect((await A.req('PUT', '/v1/AUTH_test/acl/o', admin(), {}, 'hello')).status).toBe(201);
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      expect((await w.req('POST', '/v1/AUTH_test/acl', admin(), { 'X-Container-Read': 'test:tester3' })).status).toBe(204);
      expect((await r.req('GET', '/v1/AUTH_test/acl/o', user3())).status, `read granted, round ${i}`).toBe(200);
      expect((await w.req('POST', '/v1/AUTH_test/acl', admin(), { 'X-Container-Read': '' })).status).toBe(204);
      expect((await r.req('GET', '/v1/AUTH_test/acl/o', user3())).status, `read revoked, round ${i}`).toBe(403);
      expect((await w.req('POST', '/v1/AUTH_test/acl', admin(), { 'X-Container-Write': 'test:tester3' })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/acl/w${i}`, user3(), {}, 'x')).status, `write granted, round ${i}`).toBe(201);
      expect((await w.req('POST', '/v1/AUTH_test/acl', admin(), { 'X-Container-Write': '' })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/acl/w${i}`, user3(), {}, 'x')).status, `write revoked, round ${i}`).toBe(403);
    }
  });

  it('an account ACL change through one worker is enforced by the other on the next request', async () => {
    const resellerAdmin = tokens['admin:admin'];
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      const grant = JSON.stringify({ 'read-only': ['test:tester3'] });
      expect((await w.req('POST', '/v1/AUTH_test', resellerAdmin, { 'X-Account-Access-Control': grant })).status).toBe(204);
      expect((await r.req('GET', '/v1/AUTH_test/acl/o', user3())).status, `granted, round ${i}`).toBe(200);
      expect((await w.req('POST', '/v1/AUTH_test', resellerAdmin, { 'X-Account-Access-Control': '{}' })).status).toBe(204);
      expect((await r.req('GET', '/v1/AUTH_test/acl/o', user3())).status, `revoked, round ${i}`).toBe(403);
    }
  });

  it('a container quota set through one worker is enforced by the other on the next request', async () => {
    expect((await A.req('PUT', '/v1/AUTH_test/q', admin())).status).toBe(201);
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      expect((await w.req('POST', '/v1/AUTH_test/q', admin(), { 'X-Container-Meta-Quota-Count': String(i) })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/q/o${i}`, admin(), {}, 'x')).status, `count quota, round ${i}`).toBe(413);
      expect((await w.req('POST', '/v1/AUTH_test/q', admin(), { 'X-Container-Meta-Quota-Count': '' })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/q/o${i}`, admin(), {}, 'x')).status, `no quota, round ${i}`).toBe(201);
    }
    const head = await B.req('HEAD', '/v1/AUTH_test/q', admin());
    expect(head.headers['x-container-object-count']).toBe('100');
  });

  it('an account quota set through one worker is enforced by the other on the next request', async () => {
    expect((await A.req('PUT', '/v1/AUTH_test/aq', admin())).status).toBe(201);
    const resellerAdmin = tokens['admin:admin'];
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      expect((await w.req('POST', '/v1/AUTH_test', resellerAdmin, { 'X-Account-Meta-Quota-Bytes': '1' })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/aq/o${i}`, admin(), {}, 'xx')).status, `account quota, round ${i}`).toBe(413);
      expect((await w.req('POST', '/v1/AUTH_test', resellerAdmin, { 'X-Remove-Account-Meta-Quota-Bytes': 'x' })).status).toBe(204);
      expect((await r.req('PUT', `/v1/AUTH_test/aq/o${i}`, admin(), {}, 'xx')).status, `no account quota, round ${i}`).toBe(201);
    }
  });

  it('a container deleted through one worker is gone for the other on the next request', async () => {
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      expect((await w.req('PUT', '/v1/AUTH_test/gone', admin())).status).toBe(201);
      expect((await r.req('PUT', '/v1/AUTH_test/gone/o', admin(), {}, 'x')).status, `created, round ${i}`).toBe(201);
      expect((await w.req('DELETE', '/v1/AUTH_test/gone/o', admin())).status).toBe(204);
      expect((await r.req('HEAD', '/v1/AUTH_test/gone/o', admin())).status, `object deleted, round ${i}`).toBe(404);
      expect((await w.req('DELETE', '/v1/AUTH_test/gone', admin())).status).toBe(204);
      expect((await r.req('PUT', '/v1/AUTH_test/gone/o', admin(), {}, 'x')).status, `container deleted, round ${i}`).toBe(404);
      expect((await r.req('HEAD', '/v1/AUTH_test/gone', admin())).status, `container deleted, round ${i}`).toBe(404);
    }
  });

  it('an ETag quoting change through one worker shows in the other on the next request', async () => {
    expect((await A.req('PUT', '/v1/AUTH_test/etags', admin())).status).toBe(201);
    expect((await A.req('PUT', '/v1/AUTH_test/etags/o', admin(), {}, 'x')).status).toBe(201);
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      const on = i % 4 < 2;
      expect((await w.req('POST', '/v1/AUTH_test/etags', admin(), { 'X-Container-Rfc-Compliant-Etags': on ? 'true' : 'false' })).status).toBe(204);
      const etag = String((await r.req('HEAD', '/v1/AUTH_test/etags/o', admin())).headers.etag);
      expect(etag.startsWith('"'), `round ${i}`).toBe(on);
    }
  });

  it('counts are exact after concurrent writes through both workers', async () => {
    expect((await A.req('PUT', '/v1/AUTH_test/counts', admin())).status).toBe(201);
    const before = await A.req('HEAD', '/v1/AUTH_test', admin());
    // 16 fresh connections, spread over both workers by the cluster's round robin.
    const pool = Array.from({ length: 16 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const anyWorker = (i: number, method: string, path: string, body?: string) =>
      send(pool[i % pool.length], port, method, path, { 'X-Auth-Token': admin() ?? '' }, body);
    // 400 PUTs of 100 names (overwrites of different sizes), then deletes of 30 names, all at once.
    const puts = await Promise.all(Array.from({ length: 400 }, (_, i) => anyWorker(i, 'PUT', `/v1/AUTH_test/counts/n${i % 100}`, 'y'.repeat(i % 100 + 1))));
    expect(puts.every((a) => a.status === 201)).toBe(true);
    expect(new Set(puts.map(workerOf)).size).toBe(2);
    const dels = await Promise.all(Array.from({ length: 60 }, (_, i) => anyWorker(i, 'DELETE', `/v1/AUTH_test/counts/n${i % 30}`)));
    expect(dels.filter((a) => a.status === 204).length).toBe(30);
    expect(dels.filter((a) => a.status === 404).length).toBe(30);
    for (const agent of pool) agent.destroy();
    // Every name holds 1..100 bytes = its index + 1 (the last of its 4 writes has the same size).
    const bytes = Array.from({ length: 70 }, (_, k) => k + 30 + 1).reduce((x, y) => x + y, 0);
    for (const p of [A, B]) {
      const c = await p.req('HEAD', '/v1/AUTH_test/counts', admin());
      expect(c.headers['x-container-object-count']).toBe('70');
      expect(c.headers['x-container-bytes-used']).toBe(String(bytes));
      const acct = await p.req('HEAD', '/v1/AUTH_test', admin());
      expect(Number(acct.headers['x-account-object-count'])).toBe(Number(before.headers['x-account-object-count']) + 70);
      expect(Number(acct.headers['x-account-bytes-used'])).toBe(Number(before.headers['x-account-bytes-used']) + bytes);
      const list = JSON.parse((await p.req('GET', '/v1/AUTH_test/counts?format=json', admin())).body) as unknown[];
      expect(list).toHaveLength(70);
    }
  });
});
