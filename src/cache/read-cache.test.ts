import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskBlobStore } from '../../storage-backends/local-disk.ts';
import { LocalChangeFeed } from '../core/change-feed.ts';
import { DEFAULT_CONSTRAINTS } from '../core/constraints.ts';
import { Namespace } from '../core/namespace.ts';
import { LevelMetadataStore } from '../metadata/level-store.ts';
import { ABSENT, ReadCache } from './read-cache.ts';
import { WeightedLru } from './lru.ts';

describe('WeightedLru', () => {
  it('evicts the least recently used entries past its weight', () => {
    const lru = new WeightedLru<string, number>(10);
    lru.set('a', 1, 4);
    lru.set('b', 2, 4);
    lru.get('a');
    lru.set('c', 3, 4);
    expect(lru.has('a')).toBe(true);
    expect(lru.has('b')).toBe(false);
    expect(lru.weight).toBe(8);
    lru.set('huge', 9, 11);
    expect(lru.has('huge')).toBe(false);
  });
});

describe('ReadCache', () => {
  it('drops a fill that raced with an invalidation', async () => {
    const feed = new LocalChangeFeed();
    const cache = new ReadCache(feed, { maxObjectBytes: 1024, maxTotalBytes: 4096 });
    const gen = cache.generation();
    await feed.publish([{ kind: 'object', op: 'delete', account: 'A', container: 'c', object: 'o' }]);
    cache.putObject(gen, 'A', 'c', 'o', undefined);
    expect(cache.getObject('A', 'c', 'o')).toBeUndefined();
    cache.putObject(cache.generation(), 'A', 'c', 'o', undefined);
    expect(cache.getObject('A', 'c', 'o')).toBe(ABSENT);
  });

  it('an object change invalidates the object, its container listings and the account listing', async () => {
    const feed = new LocalChangeFeed();
    const cache = new ReadCache(feed, { maxObjectBytes: 1024, maxTotalBytes: 4096 });
    const g = cache.generation();
    cache.putObjectListing(g, 'A', 'c', 'q', []);
    cache.putObjectListing(g, 'A', 'other', 'q', []);
    cache.putContainerListing(g, 'A', 'q', []);
    await feed.publish([{ kind: 'object', op: 'put', account: 'A', container: 'c', object: 'x/y' }]);
    expect(cache.getObjectListing('A', 'c', 'q')).toBeUndefined();
    expect(cache.getContainerListing('A', 'q')).toBeUndefined();
    expect(cache.getObjectListing('A', 'other', 'q')).toEqual([]);
  });
});

describe('ReadCache settings', () => {
  const settings = { account: 'A', name: 'c', createdAt: '1', putTimestamp: '1', meta: {}, readAcl: '', writeAcl: '', sysmeta: {}, policy: '' };

  it('survive object writes, and go with any change of their container or account', async () => {
    const feed = new LocalChangeFeed();
    const cache = new ReadCache(feed, { maxObjectBytes: 1024, maxTotalBytes: 4096 });
    const fill = () => {
      cache.putContainerSettings(cache.settingsGeneration(), 'A', 'c', settings);
      cache.putAccountSettings(cache.settingsGeneration(), 'A', { name: 'A', createdAt: '1', putTimestamp: '1', meta: {}, sysmeta: {} });
    };
    fill();
    await feed.publish([{ kind: 'object', op: 'put', account: 'A', container: 'c', object: 'o' }]);
    expect(cache.getContainerSettings('A', 'c')).toEqual(settings);
    expect(cache.getAccountSettings('A')).not.toBeUndefined();
    await feed.publish([{ kind: 'container', op: 'update', account: 'A', container: 'c' }]);
    expect(cache.getContainerSettings('A', 'c')).toBeUndefined();
    fill();
    await feed.publish([{ kind: 'account', op: 'update', account: 'A' }]);
    expect(cache.getAccountSettings('A')).toBeUndefined();
    expect(cache.getContainerSettings('A', 'c')).toEqual(settings);
    await feed.publish([{ kind: 'account', op: 'update', account: '*' }]);
    expect(cache.getContainerSettings('A', 'c')).toBeUndefined();
  });

  it('drop a fill that raced with a settings change, but not one that raced with object writes', async () => {
    const feed = new LocalChangeFeed();
    const cache = new ReadCache(feed, { maxObjectBytes: 1024, maxTotalBytes: 4096 });
    let gen = cache.settingsGeneration();
    await feed.publish([{ kind: 'object', op: 'put', account: 'A', container: 'c', object: 'o' }]);
    cache.putContainerSettings(gen, 'A', 'c', settings);
    expect(cache.getContainerSettings('A', 'c')).toEqual(settings);
    gen = cache.settingsGeneration();
    await feed.publish([{ kind: 'container', op: 'update', account: 'A', container: 'other' }]);
    cache.putContainerSettings(gen, 'A', 'c', { ...settings, readAcl: 'stale' });
    expect(cache.getContainerSettings('A', 'c')).toEqual(settings);
  });
});

describe('Namespace with a read cache', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let ns: Namespace;
  let writer: Namespace;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-cache-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    const blobs = await LocalDiskBlobStore.open({ root: join(dir, 'blobs') });
    const feed = new LocalChangeFeed();
    const cache = new ReadCache(feed, { maxObjectBytes: 1 << 20, maxTotalBytes: 8 << 20 });
    ns = new Namespace({ store, blobs, feed, constraints: DEFAULT_CONSTRAINTS, cache });
    // A second view of the same store and feed, without a cache (as another view would write).
    writer = new Namespace({ store, blobs, feed, constraints: DEFAULT_CONSTRAINTS });
    await ns.createContainer('AUTH_t', 'pub');
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (n: Namespace, name: string, body: string) =>
    n.putObject('AUTH_t', 'pub', name, Readable.from([Buffer.from(body)]), { contentType: 'text/plain' });

  it('never serves a deleted or overwritten object once the write returned', async () => {
    await put(writer, 'img/logo.gif', 'v1');
    for (let i = 0; i < 200; i++) {
      const rec = await ns.getObject('AUTH_t', 'pub', 'img/logo.gif');
      expect(rec).toBeDefined();
      const small = await ns.readSmallObject(rec!);
      expect(small?.bytes.toString()).toBe(`v${i + 1}`);
      const listing = await ns.listObjects('AUTH_t', 'pub', { prefix: 'img/', delimiter: '/', limit: 100 });
      expect(listing.map((e) => e.name)).toEqual(['img/logo.gif']);
      await put(writer, 'img/logo.gif', `v${i + 2}`);
    }
    await writer.deleteObject('AUTH_t', 'pub', 'img/logo.gif');
    expect(await ns.getObject('AUTH_t', 'pub', 'img/logo.gif')).toBeUndefined();
    expect(await ns.listObjects('AUTH_t', 'pub', { prefix: 'img/', delimiter: '/', limit: 100 })).toEqual([]);
    expect((await ns.getContainer('AUTH_t', 'pub'))?.objectCount).toBe(0);
  });

  it('serves no stale answer after an acknowledged write, under concurrent readers racing the cache', async () => {
    let stop = false;
    // Background readers keep filling the cache while writes land, to provoke fill-after-invalidate races.
    const racers = Array.from({ length: 6 }, async () => {
      while (!stop) {
        await new Promise((r) => setImmediate(r));
        const rec = await ns.getObject('AUTH_t', 'pub', 'x');
        if (rec) await ns.readSmallObject(rec).catch(() => undefined);
        await ns.listObjects('AUTH_t', 'pub', { limit: 10 });
      }
    });
    let stale = 0;
    const checkAfterAck = async (want: string | undefined) => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const rec = await ns.getObject('AUTH_t', 'pub', 'x');
          const body = rec ? (await ns.readSmallObject(rec))?.bytes.toString() : undefined;
          const listed = (await ns.listObjects('AUTH_t', 'pub', { limit: 10 })).length > 0;
          return { body, listed };
        }),
      );
      for (const a of answers) if (a.body !== want || a.listed !== (want !== undefined)) stale++;
    };
    for (let i = 0; i < 150; i++) {
      await put(writer, 'x', `v${i}`);
      await checkAfterAck(`v${i}`);
      if (i % 2 === 1) {
        await writer.deleteObject('AUTH_t', 'pub', 'x');
        await checkAfterAck(undefined);
      }
    }
    stop = true;
    await Promise.all(racers);
    expect(stale).toBe(0);
  });
});
