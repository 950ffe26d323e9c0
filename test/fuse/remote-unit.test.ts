/**
 * Remote-mode pieces without a mount: the read-ahead window asks only for ranges near
 * the read (never the whole object), HTTP statuses map to errno in the one table, and a
 * silent server fails a request within its timeout instead of hanging.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreObject } from '../../interfaces/fuse/backend.ts';
import { Errno, toErrno } from '../../interfaces/fuse/errno.ts';
import { SwiftClient, authUrlOf, swiftPath } from '../../interfaces/fuse/remote/client.ts';
import { RemoteError } from '../../interfaces/fuse/remote/errors.ts';
import { RangeReader, type RangeSource } from '../../interfaces/fuse/remote/reader.ts';

const MiB = 1024 * 1024;

function object(size: number, etag = 'e1'): StoreObject {
  return { name: 'big.bin', size, etag, contentType: 'application/octet-stream', timestampMs: 0, metaTimestampMs: 0, meta: {}, headers: {} };
}

/** Byte i of the fake object is i mod 251; records every ranged GET. */
function fakeSource(size: number, opts: { changeOnce?: boolean } = {}): RangeSource & { gets: Array<[number, number]> } {
  let etag = 'e1';
  let changed = false;
  const gets: Array<[number, number]> = [];
  return {
    gets,
    async getRange(_c, _n, askedEtag, start, end) {
      if (opts.changeOnce && !changed) {
        changed = true;
        etag = 'e2';
      }
      if (askedEtag !== etag) return { status: 412, body: Buffer.alloc(0) };
      gets.push([start, end]);
      const body = Buffer.alloc(end - start + 1);
      for (let i = 0; i < body.length; i++) body[i] = (start + i) % 251;
      return { status: 206, body };
    },
    async getObject() {
      return object(size, etag);
    },
  };
}

const expectBytes = (buf: Buffer, pos: number) => {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== (pos + i) % 251) throw new Error(`byte ${pos + i} wrong`);
};

describe('remote read-ahead window', () => {
  it('a small read far into a big object fetches one window there', async () => {
    const src = fakeSource(100 * MiB);
    const r = new RangeReader(src, 'c', object(100 * MiB), MiB);
    const buf = Buffer.alloc(10);
    expect(await r.read(buf, 10, 50 * MiB)).toBe(10);
    expectBytes(buf, 50 * MiB);
    expect(src.gets).toEqual([[50 * MiB, 51 * MiB - 1]]);
    r.close();
  });

  it('a sequential read is served by growing windows, the next one fetched ahead', async () => {
    const size = 5 * MiB + 123;
    const src = fakeSource(size);
    const r = new RangeReader(src, 'c', object(size), MiB);
    const buf = Buffer.alloc(128 * 1024);
    let pos = 0;
    for (;;) {
      const n = await r.read(buf, buf.length, pos);
      if (n === 0) break;
      expectBytes(buf.subarray(0, n), pos);
      pos += n;
    }
    expect(pos).toBe(size);
    // Every byte fetched once, nothing past the end, in growing windows: 1 + 2 + 4 MiB.
    expect(src.gets).toEqual([
      [0, MiB - 1],
      [MiB, 3 * MiB - 1],
      [3 * MiB, size - 1],
    ]);
    r.close();
  });

  it('moves to the new version when the object was replaced (412 on If-Match)', async () => {
    const src = fakeSource(2 * MiB, { changeOnce: true });
    const r = new RangeReader(src, 'c', object(2 * MiB, 'e1'), MiB);
    const buf = Buffer.alloc(100);
    expect(await r.read(buf, 100, 1000)).toBe(100);
    expectBytes(buf, 1000);
    r.close();
  });

  it('a random reader stays at one window per miss', async () => {
    const src = fakeSource(64 * MiB);
    const r = new RangeReader(src, 'c', object(64 * MiB), MiB);
    const buf = Buffer.alloc(4096);
    for (const pos of [40 * MiB, 3 * MiB, 60 * MiB, 10 * MiB]) {
      expect(await r.read(buf, 4096, pos)).toBe(4096);
      expectBytes(buf, pos);
    }
    expect(src.gets.every(([a, b]) => b - a + 1 === MiB)).toBe(true);
    expect(src.gets.length).toBe(4);
    r.close();
  });
});

describe('remote errors → errno', () => {
  it('maps statuses in the one table', () => {
    expect(toErrno(new RemoteError(401, 'x'))).toBe(Errno.EACCES);
    expect(toErrno(new RemoteError(403, 'x'))).toBe(Errno.EACCES);
    expect(toErrno(new RemoteError(404, 'x'))).toBe(Errno.ENOENT);
    expect(toErrno(new RemoteError(409, 'x'))).toBe(Errno.ENOTEMPTY);
    expect(toErrno(new RemoteError(413, 'x', 'Upload exceeds quota.'))).toBe(Errno.EDQUOT);
    expect(toErrno(new RemoteError(413, 'x', 'Your request is too large.'))).toBe(Errno.EFBIG);
    expect(toErrno(new RemoteError(500, 'x'))).toBe(Errno.EIO);
    expect(toErrno(new RemoteError(503, 'x'))).toBe(Errno.EIO);
    expect(toErrno(new RemoteError(0, 'network'))).toBe(Errno.EIO);
  });

  it('builds auth and object URLs', () => {
    expect(authUrlOf('http://h:8080')).toBe('http://h:8080/auth/v1.0');
    expect(authUrlOf('http://h:8080/auth/v1.0/')).toBe('http://h:8080/auth/v1.0');
    expect(swiftPath('c d', 'a b/é?#')).toBe('/c%20d/a%20b/%C3%A9%3F%23');
  });
});

describe('remote client timeouts', () => {
  let server: Server | undefined;
  afterAll(() => {
    server?.close();
  });

  it('a server that never answers fails the request within the timeout', async () => {
    server = createServer(() => undefined); // accepts, then stays silent
    await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    const client = new SwiftClient({ auth: { kind: 'token', token: 't', storageUrl: `http://127.0.0.1:${port}/v1/AUTH_x` }, timeoutMs: 300 });
    const t0 = Date.now();
    const err = await client.request('HEAD', '/c/o').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(toErrno(err)).toBe(Errno.EIO);
    expect(Date.now() - t0).toBeLessThan(5000);
    client.close();
  });
});
