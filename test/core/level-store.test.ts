/**
 * LevelMetadataStore mechanics that the listing and namespace suites do not see:
 * group commit actually groups one account's concurrent commits, listings release
 * their LevelDB iterators, and key ranges cover every valid name.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectRecord } from '../../src/core/types.ts';
import { LevelMetadataStore } from '../../src/metadata/level-store.ts';

const A = 'AUTH_ls';
const TS = '1700000000.00000';
let dir: string;
let store: LevelMetadataStore;

/** The store's LevelDB handle: instrumented, never replaced. */
interface DbProbe {
  batch: (...args: unknown[]) => Promise<unknown>;
  attachResource: (r: unknown) => void;
  detachResource: (r: unknown) => void;
}
const dbOf = (s: LevelMetadataStore) => (s as unknown as { db: DbProbe }).db;

function rec(name: string, size = 1): ObjectRecord {
  return { account: A, container: 'c', name, size, etag: 'e', contentType: 't', timestamp: TS, metaTimestamp: TS, blobId: `b-${Buffer.from(name).toString('hex')}`, meta: {}, headers: {} };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swiftgate-ls-'));
  store = await LevelMetadataStore.open(join(dir, 'meta'), { sync: true });
  await store.createContainer(A, 'c', TS);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('commits of one account queue up while a batch is being written, and share the next one', async () => {
    const db = dbOf(store);
    const batch = db.batch.bind(db);
    let batches = 0;
    let release!: () => void;
    let gate: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    db.batch = async (...args: unknown[]) => {
      batches++;
      const g = gate;
      gate = undefined;
      if (g) await g; // the first batch's write "takes long" (a slow fsync)
      return batch(...args);
    };
    const first = store.commitObjects(A, 'c', [{ op: 'put', record: rec('first', 1) }]);
    while (batches === 0) await new Promise((r) => setImmediate(r));
    const n = 50;
    const rest = Array.from({ length: n }, (_, i) => store.commitObjects(A, 'c', [{ op: 'put', record: rec(`o${i}`, 1) }]));
    // While the first batch is in flight, the others compute and queue (no lock is held
    // across the write; before the fix it was, and they waited one fsync each).
    // One waiter per queued commit.
    const writer = (store as unknown as { writer: { waiters: unknown[] } }).writer;
    try {
      const deadline = Date.now() + 10_000;
      while (writer.waiters.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(writer.waiters.length).toBe(n);
    } finally {
      release();
      await Promise.all([first, ...rest]);
    }
    expect(batches).toBe(2);
    expect(await store.getContainer(A, 'c')).toMatchObject({ objectCount: n + 1, bytesUsed: n + 1 });
  });

  it('many concurrent commits to one account need far fewer fsyncs than commits', async () => {
    const db = dbOf(store);
    const batch = db.batch.bind(db);
    let batches = 0;
    db.batch = (...args: unknown[]) => {
      batches++;
      return batch(...args);
    };
    const n = 400;
    await Promise.all(Array.from({ length: n }, (_, i) => store.commitObjects(A, 'c', [{ op: 'put', record: rec(`o${i}`, i) }])));
    expect(batches).toBeLessThan(n);
    expect(await store.getContainer(A, 'c')).toMatchObject({ objectCount: n, bytesUsed: (n * (n - 1)) / 2 });
  });

  it('every commit still sees the ones queued before it (counts stay exact)', async () => {
    const n = 300;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 3 === 2 ? store.commitObjects(A, 'c', [{ op: 'delete', name: `o${i - 1}` }]) : store.commitObjects(A, 'c', [{ op: 'put', record: rec(`o${i}`, 10) }]),
      ),
    );
    let count = 0;
    for await (const _ of store.scanObjects(A, 'c')) count++;
    expect(count).toBe(n / 3);
    expect(await store.getContainer(A, 'c')).toMatchObject({ objectCount: n / 3, bytesUsed: (n / 3) * 10 });
    expect(await store.getAccount(A)).toMatchObject({ objectCount: n / 3, bytesUsed: (n / 3) * 10 });
  });
});

describe('listing resources', () => {
  it('listings release their LevelDB iterators, also when they stop at the limit', async () => {
    await store.commitObjects(A, 'c', Array.from({ length: 50 }, (_, i) => ({ op: 'put' as const, record: rec(`d${i % 5}/o${i}`) })));
    const db = dbOf(store);
    const live = new Set<unknown>();
    const attach = db.attachResource.bind(db);
    const detach = db.detachResource.bind(db);
    db.attachResource = (r) => {
      live.add(r);
      attach(r);
    };
    db.detachResource = (r) => {
      live.delete(r);
      detach(r);
    };
    for (let i = 0; i < 20; i++) {
      await store.listObjects(A, 'c', { limit: 3 });
      await store.listObjects(A, 'c', { limit: 2, delimiter: '/' });
      await store.listObjects(A, 'c', { limit: 2, reverse: true, delimiter: '/' });
      await store.listObjects(A, 'c', { limit: 1000, prefix: 'd1/' });
      await store.listContainers(A, { limit: 1 });
    }
    expect(live.size).toBe(0);
  });
});

describe('key ranges', () => {
  it('lists and scans names that start with U+10FFFF (valid UTF-8, allowed by Swift)', async () => {
    const names = ['a', '\u{10FFFF}', '\u{10FFFF}x'];
    await store.commitObjects(A, 'c', names.map((n) => ({ op: 'put' as const, record: rec(n) })));
    expect((await store.listObjects(A, 'c', { limit: 10 })).map((e) => e.name)).toEqual(names);
    const scanned: string[] = [];
    for await (const o of store.scanObjects(A, 'c')) scanned.push(o.name);
    expect(scanned).toEqual(names);
  });
});
