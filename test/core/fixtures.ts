/**
 * A real core for tests: LevelMetadataStore in a temp dir, LocalDiskBlobStore on disk,
 * a LocalChangeFeed, optionally the read cache — and the whole-store checks the core
 * tests share (counts and bytes against a full scan, blobs against references).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { LocalDiskBlobStore } from '../../storage-backends/local-disk.ts';
import { ReadCache } from '../../src/cache/read-cache.ts';
import { type ChangeEvent, LocalChangeFeed } from '../../src/core/change-feed.ts';
import { DEFAULT_CONSTRAINTS } from '../../src/core/constraints.ts';
import { Namespace } from '../../src/core/namespace.ts';
import { LevelMetadataStore } from '../../src/metadata/level-store.ts';
import type { MetadataStore } from '../../src/metadata/store.ts';
import type { BlobStore } from '../../storage-backends/blob-store.ts';

export interface World {
  dir: string;
  store: LevelMetadataStore;
  blobs: LocalDiskBlobStore;
  feed: LocalChangeFeed;
  ns: Namespace;
  /** Every batch of events published, in order. */
  published: ChangeEvent[][];
  /** Seconds since the epoch as the namespace sees them; settable. */
  clock: { now: number | undefined };
  close(opts?: { keep?: boolean }): Promise<void>;
}

export interface WorldOptions {
  /** Reuse a data dir (reopen after a crash); default: a fresh temp dir. */
  dir?: string;
  sync?: boolean;
  cache?: boolean;
}

export const metaDir = (dir: string) => join(dir, 'meta');
export const blobRoot = (dir: string) => join(dir, 'objects');

export async function openWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'swiftgate-core-')));
  const store = await LevelMetadataStore.open(metaDir(dir), { sync: opts.sync ?? true });
  const blobs = await LocalDiskBlobStore.open({ root: blobRoot(dir) });
  const feed = new LocalChangeFeed();
  const published: ChangeEvent[][] = [];
  feed.subscribe((events) => {
    published.push([...events]);
  });
  const clock: { now: number | undefined } = { now: undefined };
  const cache = opts.cache ? new ReadCache(feed, { maxObjectBytes: 64 * 1024, maxTotalBytes: 16 * 1024 * 1024 }) : undefined;
  const ns = new Namespace({
    store,
    blobs,
    feed,
    constraints: DEFAULT_CONSTRAINTS,
    now: () => clock.now ?? Date.now() / 1000,
    ...(cache ? { cache } : {}),
  });
  return {
    dir,
    store,
    blobs,
    feed,
    ns,
    published,
    clock,
    async close(closeOpts = {}) {
      await blobs.close();
      await store.close();
      if (!closeOpts.keep && !opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export const md5 = (buf: Buffer): string => createHash('md5').update(buf).digest('hex');

export function source(buf: Buffer, chunk = 16 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function listBlobIds(blobs: BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of blobs.list()) ids.push(id);
  return ids.sort();
}

export async function tempFiles(dir: string): Promise<string[]> {
  try {
    return await readdir(join(blobRoot(dir), 'tmp'));
  } catch {
    return [];
  }
}

export interface Totals {
  accounts: Map<string, { containerCount: number; objectCount: number; bytesUsed: number }>;
  containers: Map<string, { objectCount: number; bytesUsed: number }>;
  /** blobId → "account/container/name" of the record referencing it. */
  referenced: Map<string, string>;
}

/** Recomputes every count from a full scan and checks the stored ones against it. */
export async function expectCountsMatchScan(store: MetadataStore): Promise<Totals> {
  const totals: Totals = { accounts: new Map(), containers: new Map(), referenced: new Map() };
  for await (const account of store.scanAccounts()) {
    const a = { containerCount: 0, objectCount: 0, bytesUsed: 0 };
    for await (const container of store.scanContainers(account.name)) {
      const c = { objectCount: 0, bytesUsed: 0 };
      for await (const obj of store.scanObjects(account.name, container.name)) {
        c.objectCount++;
        c.bytesUsed += obj.size;
        const where = `${account.name}/${container.name}/${obj.name}`;
        const other = totals.referenced.get(obj.blobId);
        expect(other, `blob ${obj.blobId} of ${where} is also referenced by ${other}`).toBeUndefined();
        totals.referenced.set(obj.blobId, where);
      }
      expect({ container: `${account.name}/${container.name}`, objectCount: container.objectCount, bytesUsed: container.bytesUsed }).toEqual({
        container: `${account.name}/${container.name}`,
        ...c,
      });
      totals.containers.set(`${account.name}/${container.name}`, c);
      a.containerCount++;
      a.objectCount += c.objectCount;
      a.bytesUsed += c.bytesUsed;
    }
    expect({ account: account.name, containerCount: account.containerCount, objectCount: account.objectCount, bytesUsed: account.bytesUsed }).toEqual({
      account: account.name,
      ...a,
    });
    totals.accounts.set(account.name, a);
  }
  return totals;
}

/** After garbage collection, the blob store holds exactly the referenced blobs. */
export async function expectNoStrayBlobs(world: Pick<World, 'store' | 'blobs' | 'ns' | 'dir'>): Promise<void> {
  await world.ns.collectGarbage();
  const { referenced } = await expectCountsMatchScan(world.store);
  expect(await listBlobIds(world.blobs)).toEqual([...referenced.keys()].sort());
  expect(await world.store.listPendingBlobs(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
  expect(await world.store.listGarbageBlobs(100)).toEqual([]);
  expect(await tempFiles(world.dir)).toEqual([]);
}
