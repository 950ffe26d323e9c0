/** What downstream caches and media players need from public URLs: ranges, validators, types, Cache-Control. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, call, type PublicGateway, startPublicGateway } from './gateway.ts';

let g: PublicGateway;
let owner: Awaited<ReturnType<typeof apiClient>>;
const CDN = 'media.customer.example';
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const get = (path: string, headers: Record<string, string> = {}) => call(g.port, 'GET', path, { Host: CDN, ...headers });

beforeAll(async () => {
  g = await startPublicGateway();
  owner = await apiClient(g.port, 'test:tester', 'testing');
  await owner.req('PUT', '/media', { 'X-Container-Read': '.r:*', 'X-Container-Meta-Cache-Control': 'public, max-age=300' });
  await owner.req('PUT', '/media/clip.mp4', {}, bytes);
  await owner.req('PUT', '/media/own-cc.css', { 'Cache-Control': 'no-cache' }, 'body{}');
  for (const ext of ['webm', 'mp3', 'm4a', 'webp', 'avif', 'svg', 'ogg', 'wav']) await owner.req('PUT', `/media/f.${ext}`, {}, 'x');
  // 2 MiB: larger than the in-memory object limit, so it streams.
  await owner.req('PUT', '/media/big.webm', {}, Buffer.alloc(2 * 1024 * 1024 + 7, 1));
  await g.gateway.core.domains.add(CDN, 'AUTH_test', 'media');
});
afterAll(async () => g.close());

describe('ranges on a public URL', () => {
  it('single range: 206 with Content-Range', async () => {
    const r = await get('/clip.mp4', { Range: 'bytes=10-19' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 10-19/1000');
    expect(r.headers['content-length']).toBe('10');
    expect(r.body.equals(bytes.subarray(10, 20))).toBe(true);
    expect(r.headers['content-type']).toBe('video/mp4');
    const suffix = await get('/clip.mp4', { Range: 'bytes=-5' });
    expect(suffix.headers['content-range']).toBe('bytes 995-999/1000');
    const open = await get('/clip.mp4', { Range: 'bytes=990-' });
    expect(open.body.equals(bytes.subarray(990))).toBe(true);
  });

  it('several ranges: multipart/byteranges', async () => {
    const r = await get('/clip.mp4', { Range: 'bytes=0-1,5-6' });
    expect(r.status).toBe(206);
    const type = String(r.headers['content-type']);
    expect(type).toMatch(/^multipart\/byteranges;boundary=/);
    const boundary = type.split('boundary=')[1] as string;
    expect(r.text.split(`--${boundary}`).length).toBe(4);
    expect(r.body.toString('latin1')).toContain('Content-Range: bytes 5-6/1000');
  });

  it('unsatisfiable: 416; malformed: ignored (200)', async () => {
    const r = await get('/clip.mp4', { Range: 'bytes=5000-6000' });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */1000');
    expect((await get('/clip.mp4', { Range: 'bytes=z-1' })).status).toBe(200);
  });

  it('ranges of an object too big for memory stream from the store', async () => {
    const r = await get('/big.webm', { Range: 'bytes=2097150-2097153' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 2097150-2097153/${2 * 1024 * 1024 + 7}`);
    expect(r.body.length).toBe(4);
    const whole = await get('/big.webm');
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(2 * 1024 * 1024 + 7);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.headers['cache-control']).toBe('public, max-age=300');
  });
});

describe('validators and caching headers', () => {
  it('304 for If-None-Match and If-Modified-Since; 412 for a failed If-Match', async () => {
    const first = await get('/clip.mp4');
    const etag = String(first.headers.etag);
    const inm = await get('/clip.mp4', { 'If-None-Match': etag });
    expect(inm.status).toBe(304);
    expect(inm.body.length).toBe(0);
    expect(inm.headers.etag).toBe(etag);
    expect((await get('/clip.mp4', { 'If-None-Match': '"other"' })).status).toBe(200);
    expect((await get('/clip.mp4', { 'If-Modified-Since': String(first.headers['last-modified']) })).status).toBe(304);
    expect((await get('/clip.mp4', { 'If-Modified-Since': 'Thu, 01 Jan 1998 00:00:00 GMT' })).status).toBe(200);
    expect((await get('/clip.mp4', { 'If-Match': '"nope"' })).status).toBe(412);
  });

  it("Cache-Control: the object's own, else the container's default", async () => {
    expect((await get('/clip.mp4')).headers['cache-control']).toBe('public, max-age=300');
    expect((await get('/own-cc.css')).headers['cache-control']).toBe('no-cache');
    await owner.req('POST', '/media', { 'X-Container-Meta-Cache-Control': 'public, max-age=60' });
    expect((await get('/clip.mp4')).headers['cache-control']).toBe('public, max-age=60');
  });

  it('ETags follow the account/container quoting setting', async () => {
    const before = String((await get('/clip.mp4')).headers.etag);
    expect(before).toMatch(/^[0-9a-f]{32}$/);
    await owner.req('POST', '/media', { 'X-Container-Rfc-Compliant-Etags': 'true' });
    expect(String((await get('/clip.mp4')).headers.etag)).toBe(`"${before}"`);
    const api = await call(g.port, 'GET', '/v1/AUTH_test/media/clip.mp4');
    expect(api.headers.etag).toBe(`"${before}"`);
  });

  it('media types', async () => {
    const want: Record<string, string> = {
      webm: 'video/webm',
      mp3: 'audio/mpeg',
      m4a: 'audio/mp4',
      webp: 'image/webp',
      avif: 'image/avif',
      svg: 'image/svg+xml',
      ogg: 'audio/ogg',
    };
    for (const [ext, type] of Object.entries(want)) expect((await get(`/f.${ext}`)).headers['content-type'], ext).toBe(type);
  });
});
