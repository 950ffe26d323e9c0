import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';
import { type Session, session } from './client.ts';

let h: Harness;
let owner: Session;
let other: Session;
let reader: Session;

beforeAll(async () => {
  h = await startHarness();
  owner = await session(h.url, 'test:tester', 'testing');
  other = await session(h.url, 'test2:tester2', 'testing2');
  reader = await session(h.url, 'test:tester3', 'testing3');
  await owner.req('PUT', '/shared');
  await owner.req('PUT', '/shared/doc', { body: 'secret' });
});
afterAll(async () => h.close());

const url = (path: string) => `${owner.storageUrl}${path}`;

describe('ACLs', () => {
  it('keeps other accounts and non-admin users out until granted', async () => {
    expect((await fetch(url('/shared/doc'), { headers: { 'X-Auth-Token': other.token } })).status).toBe(403);
    expect((await fetch(url('/shared'), { headers: { 'X-Auth-Token': reader.token } })).status).toBe(403);
    expect((await fetch(url('/shared/doc'))).status).toBe(401);
    expect((await fetch(url(''), { headers: { 'X-Auth-Token': other.token } })).status).toBe(403);
  });

  it('grants reads and writes across accounts through container ACLs', async () => {
    expect((await owner.req('POST', '/shared', { headers: { 'X-Container-Read': 'test2', 'X-Container-Write': 'test2:tester2' } })).status).toBe(204);
    const head = await owner.req('HEAD', '/shared');
    expect(head.headers.get('x-container-read')).toBe('test2');
    const r = await fetch(url('/shared/doc'), { headers: { 'X-Auth-Token': other.token } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('secret');
    const w = await fetch(url('/shared/new'), { method: 'PUT', body: new Uint8Array(Buffer.from('x')), headers: { 'X-Auth-Token': other.token } });
    expect(w.status).toBe(201);
    // Non-owners never see the ACLs themselves.
    const h2 = await fetch(url('/shared'), { method: 'HEAD', headers: { 'X-Auth-Token': other.token } });
    expect(h2.status).toBe(204);
    expect(h2.headers.get('x-container-read')).toBeNull();
    // ...and cannot change container settings.
    expect((await fetch(url('/shared'), { method: 'POST', headers: { 'X-Auth-Token': other.token } })).status).toBe(403);
  });

  it('opens objects to anonymous readers with .r:* and listings with .rlistings', async () => {
    await owner.req('PUT', '/public', { headers: { 'X-Container-Read': '.r:*' } });
    await owner.req('PUT', '/public/page', { body: 'hi' });
    expect((await fetch(url('/public/page'))).status).toBe(200);
    expect((await fetch(url('/public'))).status).toBe(401);
    await owner.req('POST', '/public', { headers: { 'X-Container-Read': '.r:*,.rlistings' } });
    const list = await fetch(url('/public'));
    expect(list.status).toBe(200);
    expect(await list.text()).toBe('page\n');
    expect((await fetch(url('/public/page'), { method: 'DELETE' })).status).toBe(401);
    await owner.req('PUT', '/picky', { headers: { 'X-Container-Read': '.r:.example.com' } });
    await owner.req('PUT', '/picky/x', { body: '1' });
    expect((await fetch(url('/picky/x'), { headers: { Referer: 'http://www.example.com/a' } })).status).toBe(200);
    expect((await fetch(url('/picky/x'), { headers: { Referer: 'http://evil.com/' } })).status).toBe(401);
  });
});

describe('interrupted uploads', () => {
  it('a client that disconnects mid-upload leaves no object and no temp file', async () => {
    const path = `${new URL(owner.storageUrl).pathname}/shared/partial`;
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(new URL(h.url).port), '127.0.0.1', () => {
        sock.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${owner.token}\r\nContent-Length: 10000000\r\n\r\n`);
        sock.write(Buffer.alloc(3 * 1024 * 1024, 7), () => setTimeout(() => {
          sock.destroy();
          resolve();
        }, 200));
      });
      sock.on('error', reject);
    });
    let tmp: string[] = ['pending'];
    for (let i = 0; i < 50 && tmp.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      tmp = await readdir(join(h.dataDir, 'objects', 'tmp')).catch(() => []);
    }
    expect(tmp).toEqual([]);
    expect((await owner.req('HEAD', '/shared/partial')).status).toBe(404);
    // The server keeps serving.
    expect((await owner.req('HEAD', '/shared/doc')).status).toBe(200);
  });
});
