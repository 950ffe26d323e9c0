import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';
import { rawExchange, rawRequest, type Session, session } from './client.ts';

let h: Harness;
let s: Session;
const md5 = (b: string) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  h = await startHarness();
  s = await session(h.url, 'test:tester', 'testing');
  expect((await s.req('PUT', '/c')).status).toBe(201);
});
afterAll(async () => h.close());

describe('containers', () => {
  it('PUT 201 then 202, HEAD stats, DELETE 409/204/404', async () => {
    expect((await s.req('PUT', '/box', { headers: { 'X-Container-Meta-A': '1' } })).status).toBe(201);
    expect((await s.req('PUT', '/box')).status).toBe(202);
    expect((await s.req('PUT', '/box/o', { body: 'abc' })).status).toBe(201);
    const head = await s.req('HEAD', '/box');
    expect(head.status).toBe(204);
    expect(head.headers.get('x-container-object-count')).toBe('1');
    expect(head.headers.get('x-container-bytes-used')).toBe('3');
    expect(head.headers.get('x-container-meta-a')).toBe('1');
    expect(head.headers.get('x-storage-policy')).toBe('Policy-0');
    expect((await s.req('DELETE', '/box')).status).toBe(409);
    expect((await s.req('DELETE', '/box/o')).status).toBe(204);
    expect((await s.req('DELETE', '/box')).status).toBe(204);
    expect((await s.req('DELETE', '/box')).status).toBe(404);
    expect((await s.req('HEAD', '/box')).status).toBe(404);
    expect((await s.req('POST', '/box')).status).toBe(404);
  });

  it('refuses long names and bad ACLs', async () => {
    expect((await s.req('PUT', `/${'x'.repeat(257)}`)).status).toBe(400);
    expect((await s.req('PUT', '/acl', { headers: { 'X-Container-Write': '.r:*' } })).status).toBe(400);
  });

  it('lists with delimiter, path, markers, reverse and formats', async () => {
    await s.req('PUT', '/l');
    for (const n of ['a/1', 'a/2', 'a/b/3', 'b', 'c.txt']) await s.req('PUT', `/l/${n}`, { body: n });
    expect(await (await s.req('GET', '/l?delimiter=/')).text()).toBe('a/\nb\nc.txt\n');
    expect(await (await s.req('GET', '/l?path=a')).text()).toBe('a/1\na/2\n');
    expect(await (await s.req('GET', '/l?marker=a/2&end_marker=c')).text()).toBe('a/b/3\nb\n');
    expect(await (await s.req('GET', '/l?reverse=true&limit=2')).text()).toBe('c.txt\nb\n');
    const j = (await (await s.req('GET', '/l?format=json&prefix=a/&delimiter=/')).json()) as Array<Record<string, unknown>>;
    expect(j[0]).toMatchObject({ name: 'a/1', bytes: 3, hash: md5('a/1') });
    expect(Object.keys(j[0] ?? {})).toEqual(['bytes', 'hash', 'name', 'content_type', 'last_modified']);
    expect(j[2]).toEqual({ subdir: 'a/b/' });
    const x = await (await s.req('GET', '/l?format=xml&prefix=a/b')).text();
    expect(x).toContain('<container name="l"><object><name>a/b/3</name>');
    const empty = await s.req('GET', '/l?prefix=zzz');
    expect(empty.status).toBe(204);
    expect((await s.req('GET', '/l?limit=10001')).status).toBe(412);
  });
});

describe('objects', () => {
  it('PUT/GET/HEAD/POST/DELETE with metadata and stored headers', async () => {
    const put = await s.req('PUT', '/c/hello.txt', {
      body: 'hello world',
      headers: { 'X-Object-Meta-Fruit': 'apple', 'Content-Disposition': 'inline', 'X-Delete-After': '1000' },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('etag')).toBe(md5('hello world'));
    const get = await s.req('GET', '/c/hello.txt');
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('hello world');
    expect(get.headers.get('content-type')).toBe('text/plain');
    expect(get.headers.get('etag')).toBe(md5('hello world'));
    expect(get.headers.get('accept-ranges')).toBe('bytes');
    expect(get.headers.get('x-object-meta-fruit')).toBe('apple');
    expect(get.headers.get('content-disposition')).toBe('inline');
    expect(get.headers.get('x-delete-at')).toMatch(/^\d+$/);
    expect(get.headers.get('last-modified')).toMatch(/GMT$/);
    const post = await s.req('POST', '/c/hello.txt', { headers: { 'X-Object-Meta-Color': 'red' } });
    expect(post.status).toBe(202);
    const head = await s.req('HEAD', '/c/hello.txt');
    expect(head.headers.get('content-length')).toBe('11');
    expect(head.headers.get('x-object-meta-color')).toBe('red');
    expect(head.headers.get('x-object-meta-fruit')).toBeNull();
    expect((await s.req('DELETE', '/c/hello.txt')).status).toBe(204);
    expect((await s.req('DELETE', '/c/hello.txt')).status).toBe(404);
    const nf = await s.req('GET', '/c/hello.txt');
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe('<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
  });

  it('verifies ETag (422), If-None-Match: * (412) and expiry validation', async () => {
    expect((await s.req('PUT', '/c/e', { body: 'x', headers: { ETag: md5('y') } })).status).toBe(422);
    expect((await s.req('HEAD', '/c/e')).status).toBe(404);
    expect((await s.req('PUT', '/c/e', { body: 'x', headers: { ETag: `"${md5('x')}"` } })).status).toBe(201);
    expect((await s.req('PUT', '/c/e', { body: 'x', headers: { 'If-None-Match': '*' } })).status).toBe(412);
    expect((await s.req('PUT', '/c/e', { body: 'x', headers: { 'X-Delete-At': '1' } })).status).toBe(400);
    expect((await s.req('PUT', '/c/e', { body: 'x', headers: { 'X-Delete-After': 'soon' } })).status).toBe(400);
    expect((await s.req('PUT', '/nocontainer/e', { body: 'x' })).status).toBe(404);
  });

  it('guesses the content type and keeps a given one', async () => {
    await s.req('PUT', '/c/pic.png', { body: 'x' });
    expect((await s.req('HEAD', '/c/pic.png')).headers.get('content-type')).toBe('image/png');
    await s.req('PUT', '/c/raw', { body: 'x', headers: { 'Content-Type': 'application/x-thing' } });
    expect((await s.req('HEAD', '/c/raw')).headers.get('content-type')).toBe('application/x-thing');
  });

  it('serves ranges as Swift does', async () => {
    await s.req('PUT', '/c/r', { body: '0123456789' });
    const one = await s.req('GET', '/c/r', { headers: { Range: 'bytes=2-4' } });
    expect(one.status).toBe(206);
    expect(one.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await one.text()).toBe('234');
    const suffix = await s.req('GET', '/c/r', { headers: { Range: 'bytes=-3' } });
    expect(await suffix.text()).toBe('789');
    const multi = await s.req('GET', '/c/r', { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(206);
    const ct = multi.headers.get('content-type') ?? '';
    expect(ct).toMatch(/^multipart\/byteranges;boundary=[0-9a-f]{32}$/);
    const body = await multi.text();
    expect(body).toContain('Content-Range: bytes 0-1/10\r\n\r\n01\r\n');
    expect(body).toContain('Content-Range: bytes 5-6/10\r\n\r\n56\r\n');
    const bad = await s.req('GET', '/c/r', { headers: { Range: 'bytes=20-30' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */10');
    const ignored = await s.req('GET', '/c/r', { headers: { Range: 'parsecs=1-2' } });
    expect(ignored.status).toBe(200);
    expect(await ignored.text()).toBe('0123456789');
  });

  it('answers conditional requests', async () => {
    const put = await s.req('PUT', '/c/cond', { body: 'abc' });
    const etag = put.headers.get('etag') ?? '';
    expect((await s.req('GET', '/c/cond', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await s.req('GET', '/c/cond', { headers: { 'If-Match': '"nope"' } })).status).toBe(412);
    expect((await s.req('GET', '/c/cond', { headers: { 'If-Match': `"${etag}"` } })).status).toBe(200);
    const future = new Date(Date.now() + 86_400_000).toUTCString();
    const past = new Date(Date.now() - 86_400_000).toUTCString();
    expect((await s.req('GET', '/c/cond', { headers: { 'If-Modified-Since': future } })).status).toBe(304);
    expect((await s.req('GET', '/c/cond', { headers: { 'If-Unmodified-Since': past } })).status).toBe(412);
    expect((await s.req('GET', '/c/missing', { headers: { 'If-Match': '*' } })).status).toBe(412);
  });

  it('copies with X-Copy-From, COPY, fresh metadata and ranges', async () => {
    await s.req('PUT', '/c/src', { body: 'source!', headers: { 'X-Object-Meta-A': '1', 'Content-Type': 'text/x-src' } });
    const c1 = await s.req('PUT', '/c/dst1', { headers: { 'X-Copy-From': '/c/src', 'X-Object-Meta-B': '2' } });
    expect(c1.status).toBe(201);
    expect(c1.headers.get('x-copied-from')).toBe('c/src');
    expect(c1.headers.get('x-copied-from-account')).toBe('AUTH_test');
    const g1 = await s.req('GET', '/c/dst1');
    expect(await g1.text()).toBe('source!');
    expect(g1.headers.get('x-object-meta-a')).toBe('1');
    expect(g1.headers.get('x-object-meta-b')).toBe('2');
    expect(g1.headers.get('content-type')).toBe('text/x-src');
    const c2 = await s.req('COPY', '/c/src', { headers: { Destination: 'c/dst2', 'X-Fresh-Metadata': 'true' } });
    expect(c2.status).toBe(201);
    expect((await s.req('HEAD', '/c/dst2')).headers.get('x-object-meta-a')).toBeNull();
    expect((await s.req('COPY', '/c/src', { headers: { Destination: 'nodest' } })).status).toBe(412);
    expect((await s.req('PUT', '/c/dst3', { headers: { 'X-Copy-From': 'c/missing' } })).status).toBe(404);
    await s.req('PUT', '/c/dst4', { headers: { 'X-Copy-From': 'c/src', Range: 'bytes=1-3' } });
    expect(await (await s.req('GET', '/c/dst4')).text()).toBe('our');
  });

  it('keeps encoded slashes, dot segments and odd names as plain names', async () => {
    expect((await s.req('PUT', '/c/a%2Fb', { body: '1' })).status).toBe(201);
    expect(await (await s.req('GET', '/c/a/b')).text()).toBe('1');
    const path = new URL(s.storageUrl).pathname;
    const dotPut = await rawRequest(h.url, 'PUT', `${path}/c/%2e%2e/x`, { 'X-Auth-Token': s.token, 'Content-Length': '1' }, '2');
    expect(dotPut.status).toBe(201);
    const dot = await rawRequest(h.url, 'GET', `${path}/c/../x`, { 'X-Auth-Token': s.token });
    expect(dot.body).toBe('2');
    const nul = await rawRequest(h.url, 'GET', `${path}/c/a%00b`, { 'X-Auth-Token': s.token });
    expect(nul.status).toBe(412);
    const badUtf8 = await rawRequest(h.url, 'PUT', `${path}/c/%ff%fe`, { 'X-Auth-Token': s.token, 'Content-Length': '0' });
    expect(badUtf8.status).toBe(412);
    const long = await rawRequest(h.url, 'PUT', `${path}/c/${'n'.repeat(1025)}`, { 'X-Auth-Token': s.token, 'Content-Length': '0' });
    expect(long.status).toBe(400);
    const noLength = await rawExchange(h.url, `PUT ${path}/c/nolen HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${s.token}\r\nConnection: close\r\n\r\n`);
    expect(noLength).toMatch(/^HTTP\/1.1 411 /);
    const te = await rawExchange(h.url, `PUT ${path}/c/te HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${s.token}\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`);
    expect(te).toMatch(/^HTTP\/1.1 501 /);
    const lick = await rawRequest(h.url, 'LICK', `${path}/c`, { 'X-Auth-Token': s.token }).catch(() => ({ status: 405 }));
    expect(lick.status).toBe(405);
    const otherAccount = await rawRequest(h.url, 'GET', '/v1/AUTH_test2/c/x', { 'X-Auth-Token': s.token });
    expect(otherAccount.status).toBe(403);
    expect((await fetch(`${h.url}/healthcheck`)).status).toBe(200);
    expect((await s.req('PUT', '/c/q%3Fmark', { body: '3' })).status).toBe(201);
    expect(await (await s.req('GET', '/c/q%3Fmark')).text()).toBe('3');
    expect((await s.req('HEAD', '/c/..%2f..%2fetc%2fpasswd')).status).toBe(404);
  });

  it('creates pseudo-directories as Swift clients do', async () => {
    const r = await s.req('PUT', '/c/dir/', { headers: { 'Content-Type': 'application/directory' }, body: '' });
    expect(r.status).toBe(201);
    const j = (await (await s.req('GET', '/c?format=json&prefix=dir')).json()) as Array<Record<string, unknown>>;
    expect(j[0]).toMatchObject({ name: 'dir/', content_type: 'application/directory', bytes: 0 });
  });

  it('serves dynamic large objects', async () => {
    await s.req('PUT', '/c/seg/1', { body: 'one' });
    await s.req('PUT', '/c/seg/2', { body: 'two' });
    await s.req('PUT', '/c/manifest', { headers: { 'X-Object-Manifest': 'c/seg/' }, body: '' });
    const g = await s.req('GET', '/c/manifest');
    expect(await g.text()).toBe('onetwo');
    expect(g.headers.get('etag')).toBe(`"${createHash('md5').update(md5('one') + md5('two')).digest('hex')}"`);
    const r = await s.req('GET', '/c/manifest', { headers: { Range: 'bytes=2-3' } });
    expect(r.status).toBe(206);
    expect(await r.text()).toBe('et');
  });

  it('bulk-deletes', async () => {
    await s.req('PUT', '/c/bd1', { body: '1' });
    const r = await s.req('POST', '?bulk-delete', { body: 'c/bd1\nc/nothere\n', headers: { 'Content-Type': 'text/plain', Accept: 'application/json' } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ 'Number Deleted': 1, 'Number Not Found': 1, 'Response Status': '200 OK', Errors: [] });
  });
});
