import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { isSocketSendable, sendStream } from '../src/core/send-stream.ts';
import { LocalDiskBlobStore } from './local-disk.ts';

let root: string;
let store: LocalDiskBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'swiftgate-send-'));
  store = await LocalDiskBlobStore.open({ root });
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

async function put(data: Buffer): Promise<string> {
  return (await store.write(store.newBlobId(), Readable.from([data]))).blobId;
}

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** A loopback server; `serve` runs on its one connection; resolves with what a client read. */
async function throughSocket(
  serve: (sock: Socket) => Promise<void>,
  client: (sock: Socket) => void = () => {},
): Promise<{ received: Buffer; served: Promise<void> }> {
  let served!: Promise<void>;
  const server: Server = createServer((sock) => {
    served = serve(sock);
    served.catch(() => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const c = connect(port, '127.0.0.1');
  client(c);
  const parts: Buffer[] = [];
  const received = await new Promise<Buffer>((resolve) => {
    c.on('data', (b: Buffer) => parts.push(b));
    c.on('close', () => resolve(Buffer.concat(parts)));
    c.on('error', () => {});
  });
  server.close();
  return { received, served };
}

describe('local disk blobs: the pooled-buffer send path', () => {
  it('read() offers sendTo, and whole blobs arrive byte-identical around buffer boundaries', async () => {
    for (const size of [1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 5]) {
      const data = randomBytes(size);
      const id = await put(data);
      const stream = await store.read(id);
      expect(isSocketSendable(stream)).toBe(true);
      let progress = 0;
      const { received, served } = await throughSocket((sock) => sendStream(stream, sock, { onProgress: (n) => (progress += n) }));
      await served;
      expect(received.length).toBe(size);
      expect(received.equals(data)).toBe(true);
      expect(progress).toBe(size);
      expect(stream.destroyed).toBe(true);
    }
  });

  it('ranges send exactly the requested bytes', async () => {
    const data = randomBytes(3 * MiB + 17);
    const id = await put(data);
    for (const [start, end] of [
      [0, 0],
      [5, MiB + 3],
      [MiB, 2 * MiB - 1],
      [3 * MiB, 3 * MiB + 16],
      [100, 10 * MiB], // past the end: clipped
    ] as const) {
      const stream = await store.read(id, { start, end });
      const { received, served } = await throughSocket((sock) => sendStream(stream, sock));
      await served;
      expect(received.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('other destinations (a PassThrough may hold chunks after their callback) get the plain pipeline', async () => {
    const data = randomBytes(2 * MiB + 3);
    const id = await put(data);
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (b: Buffer) => parts.push(b));
    await sendStream(await store.read(id), out);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('a client that hangs up mid-way fails the send and closes the file', async () => {
    const id = await put(randomBytes(64 * MiB));
    const before = await openFds();
    const stream = await store.read(id);
    let got = 0;
    const { served } = await throughSocket(
      (sock) => sendStream(stream, sock),
      (c) =>
        c.on('data', (b: Buffer) => {
          got += b.length;
          if (got > 2 * MiB) c.destroy();
        }),
    );
    await expect(served).rejects.toThrow();
    expect(stream.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await openFds()).toBeLessThanOrEqual(before);
  });

  it('an abort signal stops the send with an AbortError and destroys the socket', async () => {
    const id = await put(randomBytes(64 * MiB));
    const stream = await store.read(id);
    const ac = new AbortController();
    let got = 0;
    const { received, served } = await throughSocket(
      (sock) => sendStream(stream, sock, { signal: ac.signal }),
      (c) =>
        c.on('data', (b: Buffer) => {
          got += b.length;
          if (got > MiB) ac.abort();
        }),
    );
    await expect(served).rejects.toMatchObject({ name: 'AbortError' });
    expect(received.length).toBeLessThan(64 * MiB);
    expect(stream.destroyed).toBe(true);
  });

  it('an HTTP response takes the fast path and the body arrives intact', async () => {
    const data = randomBytes(5 * MiB + 9);
    const id = await put(data);
    let sent: Promise<void> | undefined;
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(data.length) });
      sent = store.read(id).then((s) => sendStream(s, res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const body = await new Promise<Buffer>((resolve, reject) => {
      httpGet({ port, host: '127.0.0.1', path: '/' }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject);
    });
    server.close();
    expect(body.equals(data)).toBe(true);
    await sent; // 'close' right after 'finish' is not a premature close
  });

  it('a stream already being read falls back to being read normally', async () => {
    const data = randomBytes(MiB + 1);
    const stream = await store.read(await put(data));
    const parts: Buffer[] = [];
    for await (const b of stream as AsyncIterable<Buffer>) parts.push(b);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});
