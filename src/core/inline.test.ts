import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskBlobStore } from '../../storage-backends/local-disk.ts';
import { fsck } from '../fsck.ts';
import { LevelMetadataStore } from '../metadata/level-store.ts';
import { LocalChangeFeed } from './change-feed.ts';
import { DEFAULT_CONSTRAINTS } from './constraints.ts';
import { ErrorCodes, isSwiftgateError } from './errors.ts';
import { Namespace } from './namespace.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const A = 'AUTH_t';
const C = 'c';

describe('small objects inline in the metadata commit', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let blobs: LocalDiskBlobStore;
  let ns: Namespace;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-inline-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    blobs = await LocalDiskBlobStore.open({ root: join(dir, 'blobs') });
    ns = new Namespace({ store, blobs, feed: new LocalChangeFeed(), constraints: DEFAULT_CONSTRAINTS, inlineMaxBytes: 1024 });
    await ns.createContainer(A, C);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (name: string, data: Buffer, opts: { size?: boolean; chunks?: number } = {}) => {
    const n = opts.chunks ?? 1;
    const step = Math.ceil(data.length / n) || 1;
    const parts = Array.from({ length: n }, (_, i) => data.subarray(i * step, (i + 1) * step));
    return ns.putObject(A, C, name, Readable.from(parts), {
      contentType: 'application/octet-stream',
      ...(opts.size === false ? {} : { expectedSize: data.length }),
    });
  };
  const read = async (name: string, range?: { start: number; end: number }) => {
    const rec = await ns.getObject(A, C, name);
    if (!rec) return undefined;
    const { stream } = await ns.openObject(rec, range);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const blobCount = async () => {
    let n = 0;
    for await (const _ of blobs.list()) n++;
    return n;
  };

  it('keeps small objects out of the blob store, large ones in it, whatever the transitions', async () => {
    const small = randomBytes(700);
    const big = randomBytes(5000);
    const rec = await put('x', small);
    expect(rec.inline).toBe(true);
    expect(rec.etag).toBe(md5(small));
    expect(await blobCount()).toBe(0);
    expect(await read('x')).toEqual(small);
    expect(await read('x', { start: 10, end: 19 })).toEqual(small.subarray(10, 20));

    // Unknown length larger than the limit: streamed on to the blob store after the head.
    const r2 = await put('x', big, { size: false, chunks: 7 });
    expect(r2.inline).toBeUndefined();
    expect(await read('x')).toEqual(big);
    expect(await store.getInlineBlob(rec.blobId)).toBeUndefined(); // dropped in the same commit
    expect(await blobCount()).toBe(1);

    const r3 = await put('x', small, { size: false, chunks: 3 });
    expect(r3.inline).toBe(true);
    await ns.collectGarbage();
    expect(await blobCount()).toBe(0);
    expect((await ns.getContainer(A, C))?.bytesUsed).toBe(small.length);

    const empty = await put('empty', Buffer.alloc(0));
    expect(empty.inline).toBe(true);
    expect(await read('empty')).toEqual(Buffer.alloc(0));
  });

  it('renames and copies carry inline bytes; deletes drop them', async () => {
    const data = randomBytes(300);
    const rec = await put('a/one', data);
    await ns.renameObject(A, C, 'a/one', 'b/one');
    expect(await read('b/one')).toEqual(data);
    await ns.renameDirectory(A, C, 'b', 'z');
    expect(await read('z/one')).toEqual(data);
    expect(await store.getInlineBlob(rec.blobId)).toEqual(data); // same bytes, never copied
    const { record: copy } = await ns.copyObject({ account: A, container: C, name: 'z/one' }, { account: A, container: C, name: 'copy' });
    expect(copy.inline).toBe(true);
    expect(copy.blobId).not.toBe(rec.blobId);
    await ns.deleteObject(A, C, 'z/one');
    expect(await store.getInlineBlob(rec.blobId)).toBeUndefined();
    expect(await read('copy')).toEqual(data);
    const report = await fsck(store, blobs, { deep: true });
    expect(report.problems).toEqual([]);
    expect(report.objects).toBe(1);
  });

  it('fails a short or mismatched small upload and stores nothing', async () => {
    const data = randomBytes(100);
    const short = await ns
      .putObject(A, C, 's', Readable.from([data]), { contentType: 'x', expectedSize: 200 })
      .catch((e: unknown) => e);
    expect(isSwiftgateError(short, ErrorCodes.SIZE_MISMATCH)).toBe(true);
    const bad = await ns
      .putObject(A, C, 's', Readable.from([data]), { contentType: 'x', expectedEtag: 'f'.repeat(32) })
      .catch((e: unknown) => e);
    expect(isSwiftgateError(bad, ErrorCodes.ETAG_MISMATCH)).toBe(true);
    const broken = new Readable({ read() {} });
    broken.push(data.subarray(0, 10));
    setTimeout(() => broken.destroy(new Error('ECONNRESET')), 10);
    const cut = await ns.putObject(A, C, 's', broken, { contentType: 'x', expectedSize: 100 }).catch((e: unknown) => e);
    expect(isSwiftgateError(cut, ErrorCodes.UPLOAD_ABORTED)).toBe(true);
    expect(await ns.getObject(A, C, 's')).toBeUndefined();
    expect((await ns.getContainer(A, C))?.objectCount).toBe(0);
  });

  it('an abort signal ends a stalled small upload', async () => {
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.from('partial'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err = await ns.putObject(A, C, 'stall', stalled, { contentType: 'x', signal: ac.signal }).catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.UPLOAD_ABORTED)).toBe(true);
  });
});
