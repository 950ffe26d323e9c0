/**
 * S3BlobStore against a real S3-compatible server: OpenStack Swift's s3api, started for
 * this file by test/scale/swift-s3.ts (which needs ../shared/reference/swift-aio).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ErrorCodes } from '../src/core/errors.ts';
import { type SwiftS3, startSwiftS3 } from '../test/scale/swift-s3.ts';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.ts';

const MiB = 1024 * 1024;
const BUCKET = 'swiftgate-test';

let swift: SwiftS3;
let store: S3BlobStore;
let raw: S3Client;
let base: S3BlobStoreOptions;

beforeAll(async () => {
  swift = await startSwiftS3();
  base = {
    bucket: BUCKET,
    prefix: 'blobs/',
    region: swift.region,
    endpoint: swift.endpoint,
    forcePathStyle: true,
    accessKeyId: swift.accessKeyId,
    secretAccessKey: swift.secretAccessKey,
    partSize: 5 * MiB,
    createBucket: true,
  };
  store = await S3BlobStore.open(base);
  raw = new S3Client({
    region: swift.region,
    endpoint: swift.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}, 400_000);

afterAll(async () => {
  raw?.destroy();
  await store?.close();
  await swift?.stop();
}, 120_000);

const md5 = (buf: Buffer): string => createHash('md5').update(buf).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** `total` bytes in `chunk`-sized pieces, without holding them all. */
function generated(total: number, chunk = 256 * 1024, seed = 7): { source: Readable; md5: () => string } {
  const h = createHash('md5');
  let sent = 0;
  let digest: string | undefined;
  const source = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - sent);
      const buf = Buffer.alloc(n, (sent / chunk + seed) % 251);
      sent += n;
      h.update(buf);
      this.push(buf);
    },
  });
  return { source, md5: () => (digest ??= h.digest('hex')) };
}

/** Sends `bytes` bytes, then fails like a reset connection. */
function failingSource(bytes: number, chunk = 256 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent < bytes) {
        const n = Math.min(chunk, bytes - sent);
        sent += n;
        this.push(randomBytes(n));
      } else this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    },
  });
}

async function expectNothingLeft(blobId: string): Promise<void> {
  const key = store.key(blobId);
  const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).catch((e: unknown) => e);
  expect((head as { name?: string }).name).toBe('NotFound');
  const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  expect(uploads.Uploads ?? []).toEqual([]);
  expect(await store.stat(blobId)).toBeUndefined();
}

describe('S3BlobStore', () => {
  it('refuses to open on an unreachable endpoint or a missing bucket, as BACKEND_UNAVAILABLE', async () => {
    const down = await S3BlobStore.open({ ...base, endpoint: 'http://127.0.0.1:1', maxAttempts: 2 }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
    expect(String((down as Error).message)).toMatch(/S3 bucket swiftgate-test at http:\/\/127\.0\.0\.1:1 unreachable/);
    const missing = await S3BlobStore.open({ ...base, bucket: 'swiftgate-nope', createBucket: false }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
    expect(String((missing as Error).message)).toMatch(/does not exist/);
    const badKey = await S3BlobStore.open({ ...base, secretAccessKey: 'wrong' }).catch((e: unknown) => e);
    expect(badKey).toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
  });

  it('hands out unique, key-safe, roughly time-ordered ids and refuses others', async () => {
    const ids = Array.from({ length: 1000 }, () => store.newBlobId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{28}$/);
    expect(store.key(ids[0]!)).toMatch(/^blobs\/[0-9a-f]{2}\/[0-9a-f]{28}$/);
    await expect(store.write('../x', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('round-trips bytes with the right size and MD5 etag, including empty blobs and string chunks', async () => {
    const data = randomBytes(100_000);
    const id = store.newBlobId();
    const res = await store.write(id, Readable.from([data.subarray(0, 1234), data.subarray(1234)]));
    expect(res).toEqual({ blobId: id, size: data.length, etag: md5(data) });
    expect((await readAll(await store.read(id))).equals(data)).toBe(true);
    expect(await store.stat(id)).toEqual({ size: data.length });

    const empty = store.newBlobId();
    expect(await store.write(empty, Readable.from([]), { expectedSize: 0 })).toEqual({ blobId: empty, size: 0, etag: md5(Buffer.alloc(0)) });
    expect((await readAll(await store.read(empty))).length).toBe(0);

    const text = store.newBlobId();
    const r = await store.write(text, Readable.from(['héllo ', 'world'], { objectMode: true }));
    expect(r.size).toBe(Buffer.byteLength('héllo world'));
    expect((await readAll(await store.read(text))).toString()).toBe('héllo world');
  });

  it('streams a 12 MiB blob as a multipart upload, with and without a declared size', async () => {
    for (const declared of [true, false]) {
      const total = 12 * MiB;
      const g = generated(total);
      const id = store.newBlobId();
      const res = await store.write(id, g.source, declared ? { expectedSize: total, maxSize: total } : {});
      expect(res).toEqual({ blobId: id, size: total, etag: g.md5() });
      // S3's own ETag shows the three parts (5 + 5 + 2 MiB); ours is the MD5 of the bytes.
      const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: store.key(id) }));
      expect(head.ETag).toMatch(/-3"$/);
      const back = await readAll(await store.read(id));
      expect(back.length).toBe(total);
      expect(md5(back)).toBe(g.md5());
      // Exactly one part size: still a single PUT.
      const one = store.newBlobId();
      const g1 = generated(5 * MiB);
      expect((await store.write(one, g1.source)).etag).toBe(g1.md5());
    }
  });

  it('reads byte ranges (inclusive end, clamped at EOF)', async () => {
    const data = randomBytes(10_000);
    const id = store.newBlobId();
    await store.write(id, Readable.from([data]));
    const range = async (start: number, end: number) => readAll(await store.read(id, { start, end }));
    expect((await range(0, 0)).equals(data.subarray(0, 1))).toBe(true);
    expect((await range(4000, 4999)).equals(data.subarray(4000, 5000))).toBe(true);
    expect((await range(9999, 9999)).equals(data.subarray(9999))).toBe(true);
    expect((await range(9990, 1_000_000)).equals(data.subarray(9990))).toBe(true);
    await expect(store.read(id, { start: 10_000, end: 10_005 })).rejects.toMatchObject({ code: ErrorCodes.RANGE_NOT_SATISFIABLE });
    await expect(store.read(id, { start: 5, end: 4 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('reports a missing blob as NOT_FOUND, stat undefined, and deletes it without complaint', async () => {
    const id = store.newBlobId();
    await expect(store.read(id)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(store.read(id, { start: 0, end: 10 })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    expect(await store.stat(id)).toBeUndefined();
    await store.delete(id);
  });

  it('refuses too large uploads (OBJECT_TOO_LARGE) and leaves nothing, before and after parts went out', async () => {
    // Declared too large: refused before a byte is read.
    const declared = store.newBlobId();
    const g0 = generated(2 * MiB);
    await expect(store.write(declared, g0.source, { expectedSize: 2 * MiB, maxSize: MiB })).rejects.toMatchObject({
      code: ErrorCodes.OBJECT_TOO_LARGE,
    });
    await expectNothingLeft(declared);

    for (const [total, max] of [
      [2 * MiB, MiB], // under one part: no multipart upload yet
      [12 * MiB, 11 * MiB], // two parts uploaded when the limit is hit
    ] as const) {
      const id = store.newBlobId();
      const g = generated(total);
      await expect(store.write(id, g.source, { maxSize: max })).rejects.toMatchObject({ code: ErrorCodes.OBJECT_TOO_LARGE });
      // Left paused, not destroyed, so an HTTP view can still answer 413.
      expect(g.source.destroyed).toBe(false);
      await expectNothingLeft(id);
    }
  });

  it('fails SIZE_MISMATCH on too few or too many bytes and leaves nothing', async () => {
    for (const [total, expected] of [
      [MiB, 2 * MiB],
      [2 * MiB, MiB],
      [11 * MiB, 12 * MiB],
    ] as const) {
      const id = store.newBlobId();
      await expect(store.write(id, generated(total).source, { expectedSize: expected })).rejects.toMatchObject({
        code: ErrorCodes.SIZE_MISMATCH,
      });
      await expectNothingLeft(id);
    }
  });

  it('reports a failing source as UPLOAD_ABORTED and leaves nothing, also mid-multipart', async () => {
    for (const bytes of [300_000, 7 * MiB, 11 * MiB]) {
      const id = store.newBlobId();
      await expect(store.write(id, failingSource(bytes))).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
      await expectNothingLeft(id);
    }
  });

  it('stops on the abort signal with UPLOAD_ABORTED and leaves nothing', async () => {
    const id = store.newBlobId();
    const ac = new AbortController();
    let sent = 0;
    const slow = new Readable({
      read() {
        sent += 1;
        if (sent === 30) ac.abort();
        setTimeout(() => this.push(Buffer.alloc(256 * 1024, 1)), 2);
      },
    });
    await expect(store.write(id, slow, { signal: ac.signal })).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
    await expectNothingLeft(id);
    const before = new AbortController();
    before.abort();
    await expect(store.write(store.newBlobId(), Readable.from([Buffer.from('x')]), { signal: before.signal })).rejects.toMatchObject({
      code: ErrorCodes.UPLOAD_ABORTED,
    });
  });

  it('lists its blobs, deletes them, and aborts abandoned multipart uploads', async () => {
    const s = await S3BlobStore.open({ ...base, prefix: `list-${randomBytes(4).toString('hex')}/`, abandonedUploadAgeMs: 0 });
    try {
      const ids = [s.newBlobId(), s.newBlobId(), s.newBlobId()];
      await Promise.all(ids.map((id, i) => s.write(id, Readable.from([Buffer.from(`blob ${i}`)]))));
      // Keys that are not ours under the prefix are not listed.
      await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${s.prefix}readme.txt`, Body: 'x' }));
      await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${s.prefix}00/${ids[0]}`, Body: 'x' })); // wrong shard
      const listed = async (): Promise<string[]> => {
        const out: string[] = [];
        for await (const id of s.list()) out.push(id);
        return out.sort();
      };
      expect(await listed()).toEqual([...ids].sort());
      await s.delete(ids[1]!);
      expect(await listed()).toEqual([ids[0]!, ids[2]!].sort());

      await raw.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: s.key(s.newBlobId()) }));
      await raw.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: s.key(s.newBlobId()) }));
      // A store that only collects uploads older than an hour leaves fresh ones alone.
      const careful = await S3BlobStore.open({ ...base, prefix: s.prefix });
      expect(await careful.cleanupIncomplete()).toBe(0);
      await careful.close();
      expect(await s.cleanupIncomplete()).toBe(2);
      const left = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: s.prefix }));
      expect(left.Uploads ?? []).toEqual([]);
      expect(await s.cleanupIncomplete()).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('handles concurrent writes and reads', async () => {
    const blobs = Array.from({ length: 12 }, (_, i) => ({ id: store.newBlobId(), data: randomBytes(50_000 + i * 1000) }));
    const results = await Promise.all(blobs.map((b) => store.write(b.id, Readable.from([b.data]))));
    for (const [i, r] of results.entries()) expect(r.etag).toBe(md5(blobs[i]!.data));
    const back = await Promise.all(blobs.map(async (b) => readAll(await store.read(b.id))));
    for (const [i, buf] of back.entries()) expect(buf.equals(blobs[i]!.data)).toBe(true);
  });
});
