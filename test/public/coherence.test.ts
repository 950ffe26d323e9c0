/**
 * Never stale: after a DELETE or overwrite is acknowledged, the very next request through
 * any URL form (custom domain, API path, storage domain, listings) shows the new state,
 * while concurrent readers keep the caches hot and race their fills against the writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, call, type PublicGateway, startPublicGateway } from './gateway.ts';

let g: PublicGateway;
let owner: Awaited<ReturnType<typeof apiClient>>;
const DOMAIN = 'files.customer.example';

beforeAll(async () => {
  g = await startPublicGateway();
  owner = await apiClient(g.port, 'test:tester', 'testing');
  await owner.req('PUT', '/pub', { 'X-Container-Read': '.r:*,.rlistings', 'X-Container-Meta-Web-Listings': 'true' });
  await g.gateway.core.domains.add(DOMAIN, 'AUTH_test', 'pub');
});
afterAll(async () => g.close());

/** The same object (or listing) through every URL form. */
const forms = (name: string) => [
  { host: DOMAIN, path: `/dir/${name}` },
  { host: '127.0.0.1', path: `/v1/AUTH_test/pub/dir/${name}` },
  { host: 'auth_test.storage.example.net', path: `/pub/dir/${name}` },
  { host: 'pub.auth-test.storage.example.net', path: `/dir/${name}` },
];
const listings = [
  { host: DOMAIN, path: '/dir/' }, // staticweb HTML listing
  { host: '127.0.0.1', path: '/v1/AUTH_test/pub?prefix=dir/', api: true }, // API listing (an anonymous one would get staticweb's redirect)
];

describe('cache coherence across URL forms', () => {
  it('overwrite: the next GET everywhere has the new ETag', async () => {
    const first = await owner.req('PUT', '/pub/dir/o.txt', {}, 'version-1');
    for (const f of forms('o.txt')) expect((await call(g.port, 'GET', f.path, { Host: f.host })).text).toBe('version-1');
    const second = await owner.req('PUT', '/pub/dir/o.txt', {}, 'version-2');
    expect(second.headers.etag).not.toBe(first.headers.etag);
    for (const f of forms('o.txt')) {
      const r = await call(g.port, 'GET', f.path, { Host: f.host });
      expect(r.text, f.host).toBe('version-2');
      expect(String(r.headers.etag).replace(/"/g, '')).toBe(String(second.headers.etag).replace(/"/g, ''));
    }
  });

  it('DELETE, 1,000 times under concurrent readers: never one stale answer after the acknowledgement', async () => {
    const name = 'hot.txt';
    const urls = forms(name);
    // phase: odd = deleted and acknowledged, no PUT started since; even = a PUT may be under way.
    let phase = 1; // nothing there yet counts as deleted
    let stop = false;
    let stale = 0;
    let reads = 0;
    const reader = async (k: number) => {
      let n = k;
      while (!stop) {
        const f = urls[n++ % urls.length] as { host: string; path: string };
        const before = phase;
        const r = await call(g.port, 'GET', f.path, { Host: f.host });
        reads++;
        // Sent after the DELETE's ack and answered before the next PUT began: must be gone.
        if (before % 2 === 1 && phase === before && r.status !== 404) {
          stale++;
          if (stale < 5) console.error('stale', f, r.status, r.text.slice(0, 60));
        }
      }
    };
    const readers = Array.from({ length: 4 }, (_, k) => reader(k));
    const deadline = Date.now() + 120_000; const ROUNDS = Number(process.env.ROUNDS ?? 1000);
    let rounds = 0;
    try {
      for (let i = 0; i < ROUNDS && Date.now() < deadline; i++, rounds++) {
        phase++; // even: PUT under way
        expect((await owner.req('PUT', `/pub/dir/${name}`, {}, `round ${i}`)).status).toBe(201);
        const del = await owner.req('DELETE', `/pub/dir/${name}`);
        expect(del.status).toBe(204);
        phase++; // odd: deleted and acknowledged
        // The very next request through each form, and each listing.
        for (const f of urls) expect((await call(g.port, 'GET', f.path, { Host: f.host })).status, `${i} ${f.host}`).toBe(404);
        if (i % 10 === 0) {
          for (const l of listings) {
            const r = await call(g.port, 'GET', l.path, { Host: l.host, ...(l.api ? { 'X-Auth-Token': owner.token } : {}) });
            expect(r.status).toBeLessThan(300);
            expect(r.text, `${i} ${l.path}`).not.toContain(name);
          }
        }
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    expect(rounds).toBe(ROUNDS);
    expect(reads).toBeGreaterThan(1000);
    expect(stale).toBe(0);
  }, 180_000);

  it('listings drop a deleted object at once (staticweb HTML and API)', async () => {
    await owner.req('PUT', '/pub/dir/listed.txt', {}, 'x');
    const list = (l: (typeof listings)[number]) => call(g.port, 'GET', l.path, { Host: l.host, ...(l.api ? { 'X-Auth-Token': owner.token } : {}) });
    for (const l of listings) expect((await list(l)).text).toContain('listed.txt');
    await owner.req('DELETE', '/pub/dir/listed.txt');
    for (const l of listings) {
      const r = await list(l);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain('listed.txt');
    }
  });
});
