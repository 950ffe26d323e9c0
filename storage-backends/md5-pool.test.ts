import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, isSwiftgateError } from '../src/core/errors.ts';
import { LocalDiskBlobStore } from './local-disk.ts';
import { acquireMd5Pool, HashingStager, Md5Pool, releaseMd5Pool, RING_SLOTS, SLOT_BYTES } from './md5-pool.ts';
import { md5, readAll } from '../test/core/fixtures.ts';

// The default is no workers on hosts with fewer than 3 cores (like CI's): these tests are
// about the workers, so they always ask for two.
process.env.SWIFTGATE_MD5_WORKERS = '2';

let root: string;
let store: LocalDiskBlobStore;
let pool: Md5Pool; // the same process-wide pool the store uses

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'swiftgate-md5pool-'));
  store = await LocalDiskBlobStore.open({ root });
  pool = acquireMd5Pool();
});

afterEach(async () => {
  await store.close();
  await releaseMd5Pool();
  await rm(root, { recursive: true, force: true });
});


function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) parts.push(data.subarray(off, off + size));
  return Readable.from(parts, { objectMode: false });
}

async function expectNoWorkerState(): Promise<void> {
  const stats = await pool.stats();
  expect(stats.jobs).toBe(0);
  for (const n of stats.workerJobs) expect(n).toBe(0);
}

async function tmpFiles(): Promise<string[]> {
  return readdir(join(root, 'tmp'));
}

describe('MD5 off the main thread (local disk writes)', () => {
  const ring = RING_SLOTS * SLOT_BYTES;
  const sizes = [0, 1, 65_537, SLOT_BYTES - 1, SLOT_BYTES, SLOT_BYTES + 1, ring - 1, ring, ring + 1, 3 * ring + 12_345];

  it.each(sizes)('etag and bytes are right for %i bytes, whatever the chunking', async (size) => {
    const data = randomBytes(size);
    for (const chunk of [1000, 65_536, 3 * SLOT_BYTES + 7]) {
      const r = await store.write(store.newBlobId(), chunked(data, chunk), { expectedSize: size });
      expect(r.size).toBe(size);
      expect(r.etag).toBe(md5(data));
      expect((await readAll(await store.read(r.blobId))).equals(data)).toBe(true);
    }
    await expectNoWorkerState();
  });

  it('runs many concurrent uploads on at most two workers, each with its own hash', async () => {
    const datas = Array.from({ length: 8 }, (_, i) => randomBytes(2 * SLOT_BYTES + i * 100_003));
    const results = await Promise.all(datas.map((d, i) => store.write(store.newBlobId(), chunked(d, 16_384 + i * 1000))));
    results.forEach((r, i) => expect(r.etag).toBe(md5(datas[i] as Buffer)));
    const stats = await pool.stats();
    expect(stats.workers).toBeGreaterThan(0);
    expect(stats.workers).toBeLessThanOrEqual(2);
    await expectNoWorkerState();
  });

  it('an upload cut off mid-way leaves no temp file and no job in any worker', async () => {
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent++ < 40) this.push(randomBytes(128 * 1024));
        else this.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      },
    });
    await expect(store.write(store.newBlobId(), source)).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
    expect(await tmpFiles()).toEqual([]);
    await expectNoWorkerState();
  });

  it('an abort signal mid-way leaves no temp file and no job in any worker', async () => {
    const ac = new AbortController();
    let sent = 0;
    const source = new Readable({
      read() {
        if (++sent === 30) ac.abort();
        this.push(randomBytes(128 * 1024));
      },
    });
    await expect(store.write(store.newBlobId(), source, { signal: ac.signal })).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
    expect(await tmpFiles()).toEqual([]);
    await expectNoWorkerState();
  });

  it('a worker crash fails the upload with a typed error, commits nothing, and the next upload works', async () => {
    let sent = 0;
    const source = new Readable({
      read() {
        sent++;
        if (sent === 20) pool.crashOneWorker();
        // Slow enough that the crash lands while the upload still needs its worker.
        if (sent < 200) setTimeout(() => this.push(randomBytes(64 * 1024)), sent > 20 ? 2 : 0);
        else this.push(null);
      },
    });
    const id = store.newBlobId();
    const err: unknown = await store.write(id, source).catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.INTERNAL)).toBe(true);
    expect(await tmpFiles()).toEqual([]);
    expect(await store.stat(id)).toBeUndefined();
    const data = randomBytes(3 * SLOT_BYTES + 5);
    const r = await store.write(store.newBlobId(), chunked(data, 65_536));
    expect(r.etag).toBe(md5(data));
    await expectNoWorkerState();
  });
});

describe('HashingStager', () => {
  it('holds at most RING_SLOTS slots: push waits while the sink is stuck', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const written: number[] = [];
    const stager = new HashingStager(pool, async (bytes) => {
      await stuck;
      written.push(bytes.length);
    });
    const chunk = Buffer.alloc(SLOT_BYTES, 1);
    let pushed = 0;
    const feeding = (async () => {
      for (let i = 0; i < RING_SLOTS + 3; i++) {
        await stager.push(chunk);
        pushed++;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    // RING_SLOTS full slots dispatched; the next push waits for a free one.
    expect(pushed).toBe(RING_SLOTS);
    release();
    await feeding;
    const hex = await stager.finish();
    expect(written.reduce((a, b) => a + b, 0)).toBe((RING_SLOTS + 3) * SLOT_BYTES);
    expect(hex).toBe(md5(Buffer.alloc((RING_SLOTS + 3) * SLOT_BYTES, 1)));
    await expectNoWorkerState();
  });

  it('a sink failure surfaces from push or finish, and dispose leaves no job behind', async () => {
    const stager = new HashingStager(pool, async () => {
      throw new Error('disk full');
    });
    const run = async (): Promise<string> => {
      for (let i = 0; i < 10; i++) await stager.push(Buffer.alloc(SLOT_BYTES));
      return stager.finish();
    };
    await expect(run()).rejects.toThrow('disk full');
    await stager.dispose();
    await expectNoWorkerState();
  });

  it('with a pool of size 0 (SWIFTGATE_MD5_WORKERS=0) hashes in-thread, same bytes and digest', async () => {
    const none = new Md5Pool(0);
    for (const size of [0, SLOT_BYTES - 1, SLOT_BYTES, RING_SLOTS * SLOT_BYTES + 3]) {
      const data = randomBytes(size);
      const out = Buffer.alloc(size);
      const stager = new HashingStager(none, async (bytes, position) => void bytes.copy(out, position));
      for (let off = 0; off < size; off += 70_000) await stager.push(data.subarray(off, off + 70_000));
      expect(await stager.finish()).toBe(md5(data));
      expect(out.equals(data)).toBe(true);
    }
    expect((await none.stats()).workers).toBe(0);
  });
});
