import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes } from '../src/core/errors.ts';
import { LocalDiskBlobStore } from './local-disk.ts';
import { md5, readAll } from '../test/core/fixtures.ts';

let root: string;
let store: LocalDiskBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'swiftgate-localdisk-'));
  store = await LocalDiskBlobStore.open({ root });
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});


/** Every file below `dir`, relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function expectNothingLeft(): Promise<void> {
  expect(await filesUnder(join(root, 'blobs'))).toEqual([]);
  expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
}

/** A source that sends `chunks` chunks of `size` bytes, then fails like a reset connection. */
function failingSource(chunks: number, size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < chunks) this.push(randomBytes(size));
      else this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    },
  });
}

describe('LocalDiskBlobStore', () => {
  it('adopts a finished file as a blob without copying it (same filesystem, exact size only)', async () => {
    const data = randomBytes(300_000);
    const file = join(root, 'spool-file');
    await writeFile(file, data);
    expect(await store.adopt(store.newBlobId(), file, data.length + 1)).toBe(false); // still growing?
    expect(await store.adopt(store.newBlobId(), join(root, 'missing'), 10)).toBe(false);
    const id = store.newBlobId();
    expect(await store.adopt(id, file, data.length)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of await store.read(id)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    // The blob is its own name for the bytes: the spool may drop its name.
    await rm(file);
    expect((await store.stat(id))?.size).toBe(data.length);
  });

  it('creates its layout under a missing root', async () => {
    const nested = join(root, 'a', 'b');
    const s = new LocalDiskBlobStore({ root: nested });
    expect((await readdir(nested)).sort()).toEqual(['blobs', 'tmp']);
    await s.close();
  });

  it('hands out unique, path-safe, roughly time-ordered ids', () => {
    const ids = Array.from({ length: 1000 }, () => store.newBlobId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{28}$/);
    expect(ids[0]!.slice(0, 12) <= ids[999]!.slice(0, 12)).toBe(true);
  });

  it('round-trips bytes with the right size and MD5 etag', async () => {
    const data = randomBytes(100_000);
    const id = store.newBlobId();
    const res = await store.write(id, Readable.from([data.subarray(0, 1234), data.subarray(1234)]));
    expect(res).toEqual({ blobId: id, size: data.length, etag: md5(data) });
    expect((await readAll(await store.read(id))).equals(data)).toBe(true);
    expect(await store.stat(id)).toEqual({ size: data.length });
    await expectTmpEmpty();
  });

  it('stores an empty blob', async () => {
    const id = store.newBlobId();
    const res = await store.write(id, Readable.from([]), { expectedSize: 0 });
    expect(res).toEqual({ blobId: id, size: 0, etag: md5(Buffer.alloc(0)) });
    expect((await readAll(await store.read(id))).length).toBe(0);
  });

  it('accepts string chunks', async () => {
    const id = store.newBlobId();
    const res = await store.write(id, Readable.from(['héllo ', 'world'], { objectMode: true }));
    expect(res.size).toBe(Buffer.byteLength('héllo world'));
    expect((await readAll(await store.read(id))).toString()).toBe('héllo world');
  });

  it('reads byte ranges (inclusive end)', async () => {
    const data = randomBytes(10_000);
    const id = store.newBlobId();
    await store.write(id, Readable.from([data]));
    const range = async (start: number, end: number) => readAll(await store.read(id, { start, end }));
    expect((await range(0, 0)).equals(data.subarray(0, 1))).toBe(true);
    expect((await range(4000, 4999)).equals(data.subarray(4000, 5000))).toBe(true);
    expect((await range(9999, 9999)).equals(data.subarray(9999))).toBe(true);
    // An end past EOF is clamped, as HTTP ranges are.
    expect((await range(9990, 1_000_000)).equals(data.subarray(9990))).toBe(true);
    await expect(store.read(id, { start: 10_000, end: 10_005 })).rejects.toMatchObject({
      code: ErrorCodes.RANGE_NOT_SATISFIABLE,
    });
    await expect(store.read(id, { start: 5, end: 4 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('streams a 20 MiB upload from a generator', async () => {
    const chunk = 64 * 1024;
    const total = 20 * 1024 * 1024;
    const expected = createHash('md5');
    async function* gen(): AsyncGenerator<Buffer> {
      for (let i = 0; i < total / chunk; i++) {
        const buf = Buffer.alloc(chunk, i % 251);
        expected.update(buf);
        yield buf;
      }
    }
    const id = store.newBlobId();
    const res = await store.write(id, Readable.from(gen()), { expectedSize: total, maxSize: total });
    expect(res.size).toBe(total);
    expect(res.etag).toBe(expected.digest('hex'));
    const back = createHash('md5');
    let n = 0;
    for await (const part of (await store.read(id)) as AsyncIterable<Buffer>) {
      back.update(part);
      n += part.length;
    }
    expect(n).toBe(total);
    expect(back.digest('hex')).toBe(res.etag);
  });

  it('refuses with OBJECT_TOO_LARGE once maxSize is passed, and leaves nothing', async () => {
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    await expect(store.write(store.newBlobId(), source, { maxSize: 1024 * 1024 })).rejects.toMatchObject({
      code: ErrorCodes.OBJECT_TOO_LARGE,
    });
    // Stopped right after the limit, not after draining an endless source.
    expect(pulled).toBeLessThan(40);
    // Left to the caller (an HTTP layer must still be able to answer 413).
    expect(source.destroyed).toBe(false);
    source.destroy();
    await expectNothingLeft();
  });

  it('refuses at once when the announced size exceeds maxSize', async () => {
    const source = Readable.from([Buffer.alloc(10)]);
    await expect(store.write(store.newBlobId(), source, { expectedSize: 2000, maxSize: 1000 })).rejects.toMatchObject({
      code: ErrorCodes.OBJECT_TOO_LARGE,
    });
    await expectNothingLeft();
  });

  it('fails with SIZE_MISMATCH when fewer or more bytes arrive than announced, and leaves nothing', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    await expect(store.write(store.newBlobId(), Readable.from([data]), { expectedSize: data.length + 1 })).rejects.toMatchObject({
      code: ErrorCodes.SIZE_MISMATCH,
    });
    await expectNothingLeft();
    await expect(store.write(store.newBlobId(), Readable.from([data]), { expectedSize: 100 })).rejects.toMatchObject({
      code: ErrorCodes.SIZE_MISMATCH,
    });
    await expectNothingLeft();
  });

  it('maps a source error halfway to UPLOAD_ABORTED, and leaves nothing', async () => {
    // 3 MiB before the reset, so a temp file has already been written to.
    await expect(store.write(store.newBlobId(), failingSource(48, 64 * 1024))).rejects.toMatchObject({
      code: ErrorCodes.UPLOAD_ABORTED,
    });
    await expectNothingLeft();
  });

  it('maps a premature close to UPLOAD_ABORTED', async () => {
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent++ < 20) this.push(Buffer.alloc(64 * 1024));
        else this.destroy();
      },
    });
    await expect(store.write(store.newBlobId(), source)).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
    await expectNothingLeft();
  });

  it('maps an abort signal to UPLOAD_ABORTED, mid-stream or up front', async () => {
    const ac = new AbortController();
    let sent = 0;
    const source = new Readable({
      read() {
        if (++sent === 30) ac.abort();
        setImmediate(() => this.push(Buffer.alloc(64 * 1024)));
      },
    });
    await expect(store.write(store.newBlobId(), source, { signal: ac.signal })).rejects.toMatchObject({
      code: ErrorCodes.UPLOAD_ABORTED,
    });
    await expectNothingLeft();

    await expect(
      store.write(store.newBlobId(), Readable.from([Buffer.alloc(10)]), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: ErrorCodes.UPLOAD_ABORTED });
    await expectNothingLeft();
  });

  it('reports a missing blob as NOT_FOUND on read and undefined on stat', async () => {
    const id = store.newBlobId();
    await expect(store.read(id)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    expect(await store.stat(id)).toBeUndefined();
  });

  it('rejects ids that could escape the store', async () => {
    for (const id of ['../x', 'a/b', '', '.', 'x.tmp']) {
      await expect(store.read(id)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(store.write(id, Readable.from([]))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    }
  });

  it('deletes idempotently', async () => {
    const id = store.newBlobId();
    await store.write(id, Readable.from([Buffer.from('bye')]));
    await store.delete(id);
    await store.delete(id);
    await store.delete(store.newBlobId());
    expect(await store.stat(id)).toBeUndefined();
    await expect(store.read(id)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });

  it('lists exactly the stored blobs', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = store.newBlobId();
      ids.add(id);
      await store.write(id, Readable.from([Buffer.from(`blob ${i}`)]));
    }
    const gone = [...ids][7]!;
    await store.delete(gone);
    ids.delete(gone);
    await store.write(store.newBlobId(), failingSource(1, 10)).catch(() => {});
    const listed: string[] = [];
    for await (const id of store.list()) listed.push(id);
    expect(listed.sort()).toEqual([...ids].sort());
  });

  it('writes concurrently into the same directories', async () => {
    const blobs = Array.from({ length: 64 }, (_, i) => ({ id: store.newBlobId(), data: randomBytes(4096 + i) }));
    const results = await Promise.all(blobs.map((b) => store.write(b.id, Readable.from([b.data]))));
    results.forEach((r, i) => expect(r.etag).toBe(md5(blobs[i]!.data)));
    for (const b of blobs) expect((await readAll(await store.read(b.id))).equals(b.data)).toBe(true);
  });

  it('cleanupIncomplete removes planted temp files but not writes in flight', async () => {
    await writeFile(join(root, 'tmp', 'stale1.abcd.tmp'), 'x');
    await writeFile(join(root, 'tmp', 'stale2.abcd.tmp'), 'y');
    await mkdir(join(root, 'tmp', 'odd-dir'));
    // A write paused after its first flush, so its temp file exists.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(2 * 1024 * 1024, 1);
      await gate;
      yield Buffer.alloc(10, 2);
    }
    const id = store.newBlobId();
    const pending = store.write(id, Readable.from(slow()));
    while ((await readdir(join(root, 'tmp'))).length < 4) await new Promise((r) => setTimeout(r, 5));

    expect(await store.cleanupIncomplete()).toBe(3);
    release();
    expect((await pending).size).toBe(2 * 1024 * 1024 + 10);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await store.cleanupIncomplete()).toBe(0);
  });

  it('refuses work after close', async () => {
    await store.close();
    await expect(store.write(store.newBlobId(), Readable.from([]))).rejects.toMatchObject({
      code: ErrorCodes.BACKEND_UNAVAILABLE,
    });
  });
});

async function expectTmpEmpty(): Promise<void> {
  expect(await readdir(join(root, 'tmp'))).toEqual([]);
}
