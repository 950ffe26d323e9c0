/**
 * The purge notifier against a real nginx proxy_cache (stock Debian nginx: no purge
 * module, so `refresh` mode): after a DELETE or overwrite through the API, the next
 * request through nginx shows the new state although nginx would cache for a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, call, type PublicGateway, startPublicGateway } from './gateway.ts';
import { freePort, nginxWorks, type RunningNginx, startNginx } from './nginx.ts';

const HAVE_NGINX = nginxWorks();
let g: PublicGateway;
let nginx: RunningNginx;
let owner: Awaited<ReturnType<typeof apiClient>>;
const SITE = 'www.cached.example';
const API_HOST = 'cdn.example.net';

beforeAll(async () => {
  if (!HAVE_NGINX) return;
  const nginxPort = await freePort();
  const gwPort = await freePort();
  g = await startPublicGateway((c) => {
    c.http.port = gwPort;
    c.purge.targets = [{ url: `http://127.0.0.1:${nginxPort}`, mode: 'refresh' }];
    c.purge.apiBase = `http://${API_HOST}`;
  });
  nginx = await startNginx(
    (dir) => `
  proxy_cache_path ${dir}/cache keys_zone=sg:10m;
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://127.0.0.1:${gwPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_cache sg;
      proxy_cache_key $host$request_uri;
      proxy_cache_valid 200 404 1m;
      proxy_cache_bypass $http_x_purge;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }`,
  );
  owner = await apiClient(g.port, 'test:tester', 'testing');
  await owner.req('PUT', '/pub', { 'X-Container-Read': '.r:*' });
  await g.gateway.core.domains.add(SITE, 'AUTH_test', 'pub');
});
afterAll(async () => {
  await nginx?.stop();
  await g?.close();
});

const viaNginx = (host: string, path: string) => call(nginx.port, 'GET', path, { Host: host });

/** Polls nginx (bounded: ~2 s) until `ok`; returns the last answer. */
async function eventually(host: string, path: string, ok: (status: number, etag: string, text: string) => boolean) {
  const deadline = Date.now() + 2000;
  for (;;) {
    const r = await viaNginx(host, path);
    if (ok(r.status, String(r.headers.etag ?? ''), r.text) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe.skipIf(!HAVE_NGINX)('purge notifier with a real nginx proxy_cache', () => {
  for (const [label, host, path] of [
    ['custom domain', SITE, '/img/logo.gif'],
    ['API path', API_HOST, '/v1/AUTH_test/pub/img/logo.gif'],
  ] as const) {
    it(`${label}: an overwrite and a DELETE show through nginx at once`, async () => {
      const v1 = await owner.req('PUT', '/pub/img/logo.gif', {}, `one ${label}`);
      const etag1 = String(v1.headers.etag);
      // The notifier refreshes every URL form of the object, in the background: this URL
      // may still hold what an earlier case left (e.g. its 404) until its turn comes.
      let r = await eventually(host, path, (s, _e, text) => s === 200 && text === `one ${label}`);
      expect(r.text).toBe(`one ${label}`);
      r = await viaNginx(host, path);
      expect(r.headers['x-cache-status']).toBe('HIT'); // nginx really caches it

      const v2 = await owner.req('PUT', '/pub/img/logo.gif', {}, `two ${label}`);
      const etag2 = String(v2.headers.etag);
      expect(etag2).not.toBe(etag1);
      r = await eventually(host, path, (s, e) => s === 200 && e.replace(/"/g, '') === etag2);
      expect(r.text).toBe(`two ${label}`);
      expect(r.headers['x-cache-status']).toBe('HIT'); // refreshed in the cache, not bypassed by us

      expect((await owner.req('DELETE', '/pub/img/logo.gif')).status).toBe(204);
      r = await eventually(host, path, (s) => s === 404);
      expect(r.status).toBe(404);
    });
  }

  it('directory listings refresh too (the container URL)', async () => {
    await owner.req('POST', '/pub', { 'X-Container-Read': '.r:*,.rlistings' });
    // Something stays: an empty container lists as 204, which this nginx config does not
    // cache, so the refresh could not replace the old entry (docs/public-urls.md).
    await owner.req('PUT', '/pub/stays.txt', {}, 'x');
    await owner.req('PUT', '/pub/list-me.txt', {}, 'x');
    let r = await eventually(API_HOST, '/v1/AUTH_test/pub', (s, _e, text) => s === 200 && text.includes('list-me.txt'));
    expect(r.text).toContain('list-me.txt');
    await owner.req('DELETE', '/pub/list-me.txt');
    r = await eventually(API_HOST, '/v1/AUTH_test/pub', (s, _e, text) => s === 200 && !text.includes('list-me.txt'));
    expect(r.text).toBe('stays.txt\n');
  });
});
