/** Custom domains: the mapped container at the root, read-only, and nothing else reachable through it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, call, type PublicGateway, startPublicGateway } from './gateway.ts';

let g: PublicGateway;
let owner: Awaited<ReturnType<typeof apiClient>>;
let other: Awaited<ReturnType<typeof apiClient>>;
const SITE = 'st.theirsite.com';
const get = (host: string, path: string, headers: Record<string, string> = {}) => call(g.port, 'GET', path, { Host: host, ...headers });

beforeAll(async () => {
  g = await startPublicGateway();
  owner = await apiClient(g.port, 'test:tester', 'testing');
  other = await apiClient(g.port, 'test2:tester2', 'testing2');
  await owner.req('PUT', '/site', { 'X-Container-Read': '.r:*' });
  await owner.req('PUT', '/site/img/logo.gif', { 'Content-Type': 'image/gif' }, 'GIF89a-logo');
  await owner.req('PUT', '/site/a%20b/%C3%BC.txt', {}, 'unicode');
  await owner.req('PUT', '/private', {});
  await owner.req('PUT', '/private/secret.txt', {}, 'TOP-SECRET');
  await owner.req('PUT', '/private/img/logo.gif', {}, 'PRIVATE-LOGO');
  await other.req('PUT', '/theirs', { 'X-Container-Read': '.r:*' });
  await other.req('PUT', '/theirs/img/logo.gif', {}, 'OTHER-ACCOUNT');
  await g.gateway.core.domains.add(SITE, 'AUTH_test', 'site');
  await g.gateway.core.domains.add('private.theirsite.com', 'AUTH_test', 'private');
  await g.gateway.core.domains.add('other.example.org', 'AUTH_test2', 'theirs');
});
afterAll(async () => g.close());

describe('custom domain', () => {
  it('serves a nested object from the mapped container at the root', async () => {
    const r = await get(SITE, '/img/logo.gif');
    expect(r.status).toBe(200);
    expect(r.text).toBe('GIF89a-logo');
    expect(r.headers['content-type']).toBe('image/gif');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^"?[0-9a-f]{32}"?$/);
    expect(r.headers['last-modified']).toBeDefined();
    expect((await get(SITE, '/a%20b/%C3%BC.txt')).text).toBe('unicode');
    const head = await call(g.port, 'HEAD', '/img/logo.gif', { Host: SITE });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('11');
    expect(head.body.length).toBe(0);
  });

  it('matches the host case-insensitively and ignores the port and a trailing dot', async () => {
    for (const host of ['ST.TheirSite.COM', `${SITE}:8080`, `${SITE}.`]) expect((await get(host, '/img/logo.gif')).text).toBe('GIF89a-logo');
  });

  it('lets unknown hosts fall through to the Swift API', async () => {
    expect((await get('api.unknown.example', '/img/logo.gif')).status).toBe(404);
    const r = await get('api.unknown.example', '/v1/AUTH_test/site/img/logo.gif');
    expect(r.status).toBe(200);
    expect(r.text).toBe('GIF89a-logo');
    expect((await get('api.unknown.example', '/info')).status).toBe(200);
  });

  it('is read-only: other methods get 405, OPTIONS is answered', async () => {
    for (const m of ['PUT', 'POST', 'DELETE', 'COPY']) {
      const r = await call(g.port, m, '/img/logo.gif', { Host: SITE, 'X-Auth-Token': owner.token, 'Content-Length': '0' });
      expect(r.status, m).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
    }
    expect((await get(SITE, '/img/logo.gif')).text).toBe('GIF89a-logo');
    expect((await call(g.port, 'OPTIONS', '/img/logo.gif', { Host: SITE })).status).toBe(200);
  });
});

describe('Host-header abuse', () => {
  it('never reaches another container or account by climbing out of the path', async () => {
    const attempts = [
      '/../private/secret.txt',
      '/%2e%2e/private/secret.txt',
      '/%2E%2E%2Fprivate%2Fsecret.txt',
      '/..%2f..%2fAUTH_test%2fprivate%2fsecret.txt',
      '/../../AUTH_test/private/secret.txt',
      '//private/secret.txt',
      '/v1/AUTH_test/private/secret.txt',
      '/./../private/secret.txt',
      '/%00/../private/secret.txt',
      '/img/../../theirs/img/logo.gif',
    ];
    for (const path of attempts) {
      const r = await get(SITE, path);
      expect(r.status, path).not.toBe(200);
      expect(r.text, path).not.toContain('SECRET');
      expect(r.text, path).not.toContain('OTHER-ACCOUNT');
    }
    const abs = await call(g.port, 'GET', 'http://127.0.0.1/v1/AUTH_test/private/secret.txt', { Host: SITE });
    expect(abs.text).not.toContain('SECRET');
  });

  it('keeps a private container behind a domain private, without naming the account', async () => {
    for (const path of ['/secret.txt', '/', '/img/logo.gif', '/nothing-here']) {
      const r = await get('private.theirsite.com', path);
      expect(r.status, path).toBe(404);
      expect(r.text).not.toContain('SECRET');
      expect(r.text).not.toContain('PRIVATE');
      expect(r.headers['www-authenticate']).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain('AUTH_test');
    }
    // A token sent to a domain grants nothing: domains are anonymous views.
    const withToken = await get('private.theirsite.com', '/secret.txt', { 'X-Auth-Token': owner.token });
    expect(withToken.status).toBe(404);
    expect(withToken.text).not.toContain('SECRET');
  });

  it("serves each domain only from its own account's container", async () => {
    expect((await get('other.example.org', '/img/logo.gif')).text).toBe('OTHER-ACCOUNT');
    expect((await get(SITE, '/img/logo.gif')).text).toBe('GIF89a-logo');
    const r = await get('other.example.org', '/../../AUTH_test/site/img/logo.gif');
    expect(r.status).toBe(404);
  });

  it('an unmapped Host reaches nothing the API would not give an anonymous client', async () => {
    const r = await get('evil.example', '/v1/AUTH_test/private/secret.txt');
    expect(r.status).toBe(401);
    expect(r.text).not.toContain('SECRET');
  });
});

describe('/domains API', () => {
  it('lets an account admin map domains into its own account only', async () => {
    const put = await call(g.port, 'PUT', '/domains/www.mine.example', { 'X-Auth-Token': owner.token, 'X-Domain-Container': 'site' });
    expect(put.status).toBe(201);
    expect(JSON.parse(put.text)).toEqual({ domain: 'www.mine.example', account: 'AUTH_test', container: 'site' });
    expect((await get('www.mine.example', '/img/logo.gif')).text).toBe('GIF89a-logo');
    const foreign = await call(g.port, 'PUT', '/domains/x.mine.example', { 'X-Auth-Token': owner.token, 'X-Domain-Container': 'theirs', 'X-Domain-Account': 'AUTH_test2' });
    expect(foreign.status).toBe(403);
    // Another account cannot claim, shadow or remove it.
    expect((await call(g.port, 'PUT', '/domains/www.mine.example', { 'X-Auth-Token': other.token, 'X-Domain-Container': 'theirs' })).status).toBe(409);
    expect((await call(g.port, 'DELETE', '/domains/www.mine.example', { 'X-Auth-Token': other.token })).status).toBe(403);
    expect((await call(g.port, 'GET', '/domains/www.mine.example', { 'X-Auth-Token': other.token })).status).toBe(404);
    const list = await call(g.port, 'GET', '/domains', { 'X-Auth-Token': other.token });
    expect(JSON.parse(list.text)).toEqual([{ domain: 'other.example.org', account: 'AUTH_test2', container: 'theirs' }]);
    expect((await call(g.port, 'DELETE', '/domains/www.mine.example', { 'X-Auth-Token': owner.token })).status).toBe(204);
    // Removal takes effect on the very next request.
    expect((await get('www.mine.example', '/img/logo.gif')).status).toBe(404);
  });

  it('refuses anonymous and non-admin users, and names the gateway itself answers to', async () => {
    expect((await call(g.port, 'GET', '/domains')).status).toBe(401);
    const reader = await apiClient(g.port, 'test:tester3', 'testing3');
    expect((await call(g.port, 'PUT', '/domains/a.example', { 'X-Auth-Token': reader.token, 'X-Domain-Container': 'site' })).status).toBe(403);
    for (const host of ['localhost', 'auth_test2.storage.example.net', 'storage.example.net', 'api.host.example']) {
      const r = await call(g.port, 'PUT', `/domains/${host}`, { Host: 'api.host.example', 'X-Auth-Token': owner.token, 'X-Domain-Container': 'site' });
      expect(r.status, host).not.toBe(201);
    }
  });

  it('lets a reseller admin map anywhere and list everything', async () => {
    const admin = await apiClient(g.port, 'admin:admin', 'admin');
    const put = await call(g.port, 'PUT', '/domains/cdn.other.example', { 'X-Auth-Token': admin.token, 'X-Domain-Container': 'theirs', 'X-Domain-Account': 'AUTH_test2' });
    expect(put.status).toBe(201);
    expect((await get('cdn.other.example', '/img/logo.gif')).text).toBe('OTHER-ACCOUNT');
    const all = JSON.parse((await call(g.port, 'GET', '/domains', { 'X-Auth-Token': admin.token })).text) as Array<{ domain: string }>;
    expect(all.map((d) => d.domain)).toContain('cdn.other.example');
    expect(all.map((d) => d.domain)).toContain(SITE);
  });
});
