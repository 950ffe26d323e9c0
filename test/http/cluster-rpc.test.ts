/**
 * Round trips to the metadata host per request, as cluster mode makes them: a host over
 * a real LevelDB and two "workers" (cores opened as clients of the host, each with its
 * own HTTP server, caches and connection) in this process, so every count is exact.
 * Prints the table; the ceilings keep the hot paths from growing round trips again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.ts';
import { type Core, openCore, paths } from '../../src/core.ts';
import { MetadataHost } from '../../src/rpc/metadata-host.ts';
import { type RunningView, startHttp } from '../../src/server.ts';

interface Worker {
  core: Core;
  http: RunningView;
  url: string;
}

describe('metadata host round trips per request (cluster mode)', () => {
  let dir: string;
  let owner: Core;
  let host: MetadataHost;
  const workers: Worker[] = [];
  let token = '';
  const rows: Array<[string, number, string]> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-rpc-count-'));
    const config = defaultConfig();
    config.dataDir = dir;
    config.http.port = 0;
    owner = await openCore(config, 'owner');
    host = new MetadataHost(owner.store, owner.feed);
    await host.listen(paths.socket(config));
    await owner.users.addUser({ account: 'test', user: 'tester', key: 'testing', admin: true });
    for (let i = 0; i < 2; i++) {
      const core = await openCore(config, 'client');
      const http = await startHttp(core, config);
      workers.push({ core, http, url: `${http.address}/v1/AUTH_test` });
    }
    const auth = await fetch(`${workers[0]?.http.address}/auth/v1.0`, { headers: { 'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing' } });
    token = auth.headers.get('x-auth-token') ?? '';
  });

  afterAll(async () => {
    console.log(`\nround trips to the metadata host per request (mean of 20)\n${rows.map(([k, n, d]) => `${k.padEnd(34)}${n.toFixed(2).padStart(6)}  ${d}`).join('\n')}`);
    for (const w of workers) {
      await w.http.close();
      await w.core.close();
    }
    await host.close();
    await owner.close();
    await rm(dir, { recursive: true, force: true });
  });

  const w = (i: number): string => workers[i]?.url ?? '';
  async function req(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
    const res = await fetch(url, { method, headers: { 'X-Auth-Token': token, ...headers }, ...(body !== undefined ? { body } : {}) });
    await res.arrayBuffer();
    return res.status;
  }

  /** Runs `step` 20 times (after one unmeasured run), each after an unmeasured `setup`; returns round trips per step. */
  async function measure(label: string, step: (i: number) => Promise<void>, setup?: (i: number) => Promise<void>): Promise<number> {
    await setup?.(-1);
    await step(-1);
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      await setup?.(i);
      const before = new Map(host.requests);
      await step(i);
      for (const [k, v] of host.requests) seen.set(k, (seen.get(k) ?? 0) + v - (before.get(k) ?? 0));
    }
    let total = 0;
    const detail: string[] = [];
    for (const [k, d] of seen) {
      if (d === 0) continue;
      if (k !== 'ack') total += d; // the other worker acknowledging events, within the writer's round trip
      detail.push(`${k}=${(d / 20).toFixed(2)}`);
    }
    rows.push([label, total / 20, detail.join(' ')]);
    return total / 20;
  }

  const body = 'x'.repeat(4096);
  let n = 0;

  it('counts them', async () => {
    expect(await req(`${w(0)}/c`, 'PUT')).toBe(201);
    expect(await req(`${w(0)}/pub`, 'PUT', { 'X-Container-Read': '.r:*' })).toBe(201);
    expect(await req(`${w(0)}/c/hot`, 'PUT', {}, body)).toBe(201);
    expect(await req(`${w(0)}/pub/hot`, 'PUT', {}, body)).toBe(201);

    const put = await measure('PUT 4 KiB (new name)', async () => void expect(await req(`${w(0)}/c/o${n++}`, 'PUT', {}, body)).toBe(201));
    // As the benchmark loads it: 32 at a time, through both workers.
    const putConcurrent =
      (await measure('PUT 4 KiB, 32 at a time (per PUT)', async () => {
        await Promise.all(Array.from({ length: 32 }, (_, j) => req(`${w(j % 2)}/c/q${n++}`, 'PUT', {}, body).then((s) => expect(s).toBe(201))));
      })) / 32;
    const last = rows[rows.length - 1];
    if (last) last[1] = putConcurrent;
    const head = await measure('HEAD, token (hot)', async () => void expect(await req(`${w(1)}/c/hot`, 'HEAD')).toBe(200));
    const get = await measure('GET 4 KiB, token (hot)', async () => void expect(await req(`${w(1)}/c/hot`, 'GET')).toBe(200));
    await measure('GET 4 KiB, anonymous (hot)', async () => {
      const res = await fetch(`${w(1)}/pub/hot`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
    });
    let m = 0;
    const headAfterPut = await measure(
      'HEAD, token, after a PUT elsewhere',
      async () => void expect(await req(`${w(1)}/c/hot`, 'HEAD')).toBe(200),
      async () => void expect(await req(`${w(0)}/c/p${m++}`, 'PUT', {}, body)).toBe(201),
    );
    const post = await measure('POST object', async (i) => void expect(await req(`${w(1)}/c/o${i + 1}`, 'POST', { 'X-Object-Meta-A': 'b' })).toBe(202));
    const del = await measure('DELETE object', async (i) => void expect(await req(`${w(1)}/c/o${i + 1}`, 'DELETE')).toBe(204));
    await measure('PUT container (exists)', async () => void expect(await req(`${w(1)}/c`, 'PUT')).toBe(202));
    await measure('POST container', async () => void expect(await req(`${w(1)}/c`, 'POST', { 'X-Container-Meta-K': 'v' })).toBe(204));
    await measure('HEAD container', async () => void expect(await req(`${w(1)}/c`, 'HEAD')).toBe(204));
    // Writes: check + commit + every worker's invalidation in one round trip; reads: none
    // while hot, and settings (ACLs, quotas, ETag quoting) stay hot across uploads.
    expect({ put, putConcurrent, post, del }).toEqual({ put: 1, putConcurrent: 1, post: 1, del: 1 });
    expect({ head, get, headAfterPut }).toEqual({ head: 0, get: 0, headAfterPut: 0 });
  });
});
