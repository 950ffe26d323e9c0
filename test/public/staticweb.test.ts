/** Swift staticweb semantics on custom domains and on the API path for public containers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, call, type PublicGateway, startPublicGateway } from './gateway.ts';

let g: PublicGateway;
let owner: Awaited<ReturnType<typeof apiClient>>;
const WEB = 'www.site.example';
const get = (host: string, path: string, headers: Record<string, string> = {}) => call(g.port, 'GET', path, { Host: host, ...headers });

beforeAll(async () => {
  g = await startPublicGateway();
  owner = await apiClient(g.port, 'test:tester', 'testing');
  await owner.req('PUT', '/web', {
    'X-Container-Read': '.r:*,.rlistings',
    'X-Container-Meta-Web-Index': 'index.html',
    'X-Container-Meta-Web-Error': 'error.html',
    'X-Container-Meta-Web-Listings': 'true',
    'X-Container-Meta-Web-Listings-Css': 'listing.css',
  });
  const put = (name: string, body: string, type = 'text/html') => owner.req('PUT', `/web/${name}`, { 'Content-Type': type }, body);
  await put('index.html', '<h1>home</h1>');
  await put('404error.html', '<h1>custom not found</h1>');
  await put('about/index.html', '<h1>about</h1>');
  await put('files/a.txt', 'aaaa', 'text/plain');
  await put('files/big.bin', 'x'.repeat(2048), 'application/octet-stream');
  await put('files/sub/c.txt', 'c', 'text/plain');
  await put('files/<b>&.txt', 'esc', 'text/plain');
  await owner.req('PUT', '/web/marker', { 'Content-Type': 'application/directory' }, '');
  await owner.req('PUT', '/web/marker/inner.txt', { 'Content-Type': 'text/plain' }, 'inner');
  await owner.req('PUT', '/plain', { 'X-Container-Read': '.r:*', 'X-Container-Meta-Web-Listings': 'false', 'X-Container-Meta-Web-Index': 'index.html' });
  await owner.req('PUT', '/plain/x/y.txt', {}, 'y');
  await g.gateway.core.domains.add(WEB, 'AUTH_test', 'web');
  await g.gateway.core.domains.add('plain.example', 'AUTH_test', 'plain');
});
afterAll(async () => g.close());

describe('staticweb on a custom domain', () => {
  it('serves index.html for / and for every directory', async () => {
    const root = await get(WEB, '/');
    expect(root.status).toBe(200);
    expect(root.text).toBe('<h1>home</h1>');
    expect(root.headers['content-type']).toBe('text/html');
    expect((await get(WEB, '/about/')).text).toBe('<h1>about</h1>');
  });

  it('redirects a directory without its slash (301), relative so it stays on the host', async () => {
    const r = await get(WEB, '/about');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('./about/');
    const files = await get(WEB, '/files');
    expect(files.status).toBe(301);
    expect(files.headers.location).toBe('./files/');
    expect(new URL(String(files.headers.location), `http://${WEB}/files`).href).toBe(`http://${WEB}/files/`);
  });

  it('lists a directory without an index as HTML with the site CSS', async () => {
    const r = await get(WEB, '/files/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(r.text).toContain('<title>Listing of /files/</title>');
    expect(r.text).toContain('<link rel="stylesheet" type="text/css" href="../listing.css" />');
    expect(r.text).toContain('<a href="a.txt">a.txt</a>');
    expect(r.text).toContain('<td class="colsize">2Ki</td>');
    expect(r.text).toContain('<tr class="item subdir">\n    <td class="colname"><a href="sub/">sub/</a></td>');
    expect(r.text).toContain('<a href="%3Cb%3E%26.txt">&lt;b&gt;&amp;.txt</a>');
    expect(r.text).toContain('<a href="../">../</a>');
    expect(r.text).toContain('class="item type-text type-plain"');
    expect(r.text).not.toContain('AUTH_test');
  });

  it('answers a missing page with the site error page and status 404', async () => {
    const r = await get(WEB, '/no/such/page.html');
    expect(r.status).toBe(404);
    expect(r.text).toBe('<h1>custom not found</h1>');
    expect((await get(WEB, '/nodir/')).text).toBe('<h1>custom not found</h1>');
  });

  it('treats a directory marker as a directory, not as a page', async () => {
    const r = await get(WEB, '/marker');
    expect(r.status).toBe(301);
    const l = await get(WEB, '/marker/');
    expect(l.status).toBe(200);
    expect(l.text).toContain('inner.txt');
  });

  it('says listings are disabled where the site turned them off', async () => {
    const r = await get('plain.example', '/x/');
    expect(r.status).toBe(404);
    expect(r.text).toContain('Web Listing Disabled');
    expect(r.text).toContain('X-Container-Meta-Web-Index: index.html');
    expect((await get('plain.example', '/x/y.txt')).text).toBe('y');
  });

  it('HEAD gives the headers without a body', async () => {
    const r = await call(g.port, 'HEAD', '/', { Host: WEB });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String('<h1>home</h1>'.length));
    expect(r.body.length).toBe(0);
  });
});

describe('staticweb on the API path', () => {
  it('applies to anonymous requests on a public container', async () => {
    expect((await get('127.0.0.1', '/v1/AUTH_test/web/')).text).toBe('<h1>home</h1>');
    const redirect = await get('127.0.0.1', '/v1/AUTH_test/web');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('./web/');
    const listing = await get('127.0.0.1', '/v1/AUTH_test/web/files/');
    expect(listing.text).toContain('<title>Listing of /v1/AUTH_test/web/files/</title>');
    expect((await get('127.0.0.1', '/v1/AUTH_test/web/missing')).text).toBe('<h1>custom not found</h1>');
  });

  it('leaves authenticated requests to the API unless X-Web-Mode is set', async () => {
    const api = await owner.req('GET', '/web?format=json');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text).length).toBeGreaterThan(3);
    const web = await owner.req('GET', '/web/', { 'X-Web-Mode': 'true' });
    expect(web.text).toBe('<h1>home</h1>');
  });

  it('keeps private containers private (Swift 401 for anonymous)', async () => {
    await owner.req('PUT', '/closed', { 'X-Container-Meta-Web-Index': 'index.html' });
    await owner.req('PUT', '/closed/index.html', {}, 'closed');
    for (const p of ['/v1/AUTH_test/closed/', '/v1/AUTH_test/closed/index.html', '/v1/AUTH_test/closed/x/']) {
      const r = await get('127.0.0.1', p);
      expect(r.status, p).toBe(401);
      expect(r.text).not.toContain('closed');
    }
  });
});
