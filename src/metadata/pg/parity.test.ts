/**
 * The PostgreSQL store must behave exactly like the LevelDB store: the same randomized
 * sequence of operations runs on both, then every record, count and a batch of random
 * listings (prefix, delimiter, marker, end_marker, reverse, path, limit) must agree.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListQuery, ObjectRecord } from '../../core/types.ts';
import { type PgServer, startPgServer } from '../../../test/scale/pg-server.ts';
import { LevelMetadataStore } from '../level-store.ts';
import type { MetadataStore, ObjectChange } from '../store.ts';
import { PostgresMetadataStore } from './store.ts';

const SEED = Number(process.env.PARITY_SEED ?? 20240601);

/** mulberry32: small, seedable, good enough to pick test data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters chosen to stress ordering: delimiters, ASCII around them, Latin-1, CJK,
// an astral emoji (UTF-16 order differs from UTF-8 order there), U+FFFD.
const ALPHABET = ['a', 'b', 'c', '/', '/', '-', '.', '0', 'A', ' ', 'é', 'ß', '中', '😀', '\uFFFD', 'z', '~'];

let server: PgServer;
let pgStore: PostgresMetadataStore;
let level: LevelMetadataStore;
let levelDir: string;

beforeAll(async () => {
  server = await startPgServer();
  pgStore = await PostgresMetadataStore.open({ connectionString: server.connectionString, schema: 'parity' });
  levelDir = await mkdtemp(join(tmpdir(), 'swiftgate-parity-'));
  level = await LevelMetadataStore.open(levelDir, { sync: false });
});

afterAll(async () => {
  await pgStore?.close();
  await level?.close();
  await server?.stop();
  if (levelDir) await rm(levelDir, { recursive: true, force: true });
});

describe('PostgresMetadataStore vs LevelMetadataStore', () => {
  it(`agrees on records, counts and listings over a randomized history (seed ${SEED})`, async () => {
    const rand = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const word = (min: number, max: number): string => {
      const n = min + Math.floor(rand() * (max - min + 1));
      let s = '';
      for (let i = 0; i < n; i++) s += pick(ALPHABET);
      return s;
    };
    const stores: MetadataStore[] = [level, pgStore];
    let tick = 1_700_000_000_00000;
    const ts = (): string => ((tick += 13) / 100_000).toFixed(5).padStart(16, '0');
    let blobSeq = 0;

    /** Runs one operation on both stores; both must succeed alike or fail with the same code. */
    const both = async <T>(op: (s: MetadataStore) => Promise<T>): Promise<T | undefined> => {
      const [a, b] = (await Promise.allSettled(stores.map(op))) as [PromiseSettledResult<T>, PromiseSettledResult<T>];
      if (a.status === 'fulfilled' && b.status === 'fulfilled') {
        expect(normalize(b.value)).toEqual(normalize(a.value));
        return a.value;
      }
      const reasonA: unknown = a.status === 'rejected' ? a.reason : undefined;
      const reasonB: unknown = b.status === 'rejected' ? b.reason : undefined;
      expect([a.status, b.status], String(reasonA ?? reasonB)).toEqual(['rejected', 'rejected']);
      expect((reasonB as { code?: string }).code).toBe((reasonA as { code?: string }).code);
      return undefined;
    };

    const accounts = ['AUTH_p', 'AUTH_q'];
    const containers = new Map<string, string[]>(accounts.map((a) => [a, []]));
    for (const account of accounts) {
      const t = ts();
      await both((s) => s.createAccount(account, t, { meta: { set: { owner: account } } }));
      for (let i = 0; i < 12; i++) {
        const name = word(1, 4).replace(/\//g, '_') || 'c';
        const tc = ts();
        const r = await both((s) => s.createContainer(account, name, tc, { meta: { n: String(i) } }));
        if (r?.created) containers.get(account)!.push(name);
      }
    }
    const names = new Map<string, Set<string>>(); // account/container → names ever used
    const key = (a: string, c: string): string => `${a}\u0000${c}`;

    for (let step = 0; step < 600; step++) {
      const account = pick(accounts);
      const container = pick(containers.get(account)!);
      const used = names.get(key(account, container)) ?? new Set<string>();
      names.set(key(account, container), used);
      const r = rand();
      if (r < 0.7) {
        const changes: ObjectChange[] = [];
        const n = 1 + Math.floor(rand() * 4);
        for (let i = 0; i < n; i++) {
          const name = used.size > 0 && rand() < 0.3 ? pick([...used]) : word(1, 9);
          if (rand() < 0.2 && used.size > 0) {
            changes.push({ op: 'delete', name: pick([...used]) });
            continue;
          }
          used.add(name);
          const t = ts();
          const blobId = `blob${++blobSeq}`;
          await both((s) => s.addPendingBlob(blobId));
          const record: ObjectRecord = {
            account,
            container,
            name,
            size: Math.floor(rand() * 5000),
            etag: blobId.padEnd(32, '0'),
            contentType: pick(['text/plain', 'application/directory', 'image/png']),
            timestamp: t,
            metaTimestamp: t,
            blobId,
            meta: rand() < 0.5 ? { k: word(0, 3) || 'v' } : {},
            headers: rand() < 0.3 ? { 'content-encoding': 'gzip' } : {},
          };
          if (rand() < 0.25) record.deleteAt = 1000 + Math.floor(rand() * 50);
          changes.push({ op: 'put', record });
        }
        await both((s) => s.commitObjects(account, container, changes));
      } else if (r < 0.8 && used.size > 0) {
        const name = pick([...used]);
        const current = await level.getObject(account, container, name);
        // A conditional put, sometimes with a stale timestamp (CONFLICT on both sides).
        const stale = rand() < 0.5;
        const t = ts();
        const blobId = `blob${++blobSeq}`;
        const record: ObjectRecord = {
          account, container, name, size: 1, etag: 'e'.repeat(32), contentType: 'text/plain',
          timestamp: t, metaTimestamp: t, blobId, meta: {}, headers: {},
        };
        const ifTimestamp = stale ? '0000000001.00000' : current ? current.timestamp : null;
        await both((s) => s.commitObjects(account, container, [{ op: 'put', record, ifTimestamp }]));
      } else if (r < 0.9 && used.size > 0) {
        const name = pick([...used]);
        const deleteAt = rand() < 0.5 ? null : 1000 + Math.floor(rand() * 50);
        const t = ts();
        await both((s) =>
          s.updateObjectMeta(account, container, name, { meta: { set: { m: String(step) } }, headers: { 'cache-control': 'no-cache' }, deleteAt }, t),
        );
      } else if (r < 0.95) {
        const t = ts();
        await both((s) => s.updateContainer(account, container, { meta: { set: { step: String(step) } } }, t));
      } else {
        // Empty a container now and then, and try to delete it (refused unless empty).
        await both((s) => s.deleteContainer(account, container));
      }
    }

    // Records and counts.
    for (const [k, used] of names) {
      const [account, container] = k.split('\u0000') as [string, string];
      for (const name of used) await both((s) => s.getObject(account, container, name));
      await both((s) => s.getContainer(account, container));
    }
    for (const account of accounts) await both((s) => s.getAccount(account));
    await both((s) => s.listExpiredObjects(1025, 10_000));
    await both((s) => s.listPendingBlobs(Date.now() + 1000, 10_000).then((x) => x.sort()));
    await both((s) => s.listGarbageBlobs(10_000));

    // Listings: many random queries per container, plus container listings.
    let compared = 0;
    let nonEmpty = 0;
    let withSubdirs = 0;
    const tally = (xs: ReadonlyArray<{ kind: string }>): void => {
      if (xs.length > 0) nonEmpty++;
      if (xs.some((x) => x.kind === 'subdir')) withSubdirs++;
    };
    const randomQuery = (pool: string[]): ListQuery => {
      const q: ListQuery = { limit: pick([1, 2, 3, 5, 10, 50, 10_000]) };
      const sample = (): string => (pool.length > 0 && rand() < 0.7 ? pick(pool) : word(0, 3));
      const cut = (s: string): string => s.slice(0, Math.floor(rand() * (s.length + 1)));
      if (rand() < 0.15) {
        q.path = rand() < 0.2 ? '' : cut(sample());
      } else {
        if (rand() < 0.5) q.prefix = cut(sample());
        if (rand() < 0.5) q.delimiter = pick(['/', '/', '-', 'a', 'é']);
      }
      if (rand() < 0.4) q.marker = rand() < 0.5 ? sample() : cut(sample());
      if (rand() < 0.3) q.endMarker = rand() < 0.5 ? sample() : cut(sample());
      if (rand() < 0.35) q.reverse = true;
      return q;
    };
    for (const [k, used] of names) {
      const [account, container] = k.split('\u0000') as [string, string];
      const pool = [...used];
      for (let i = 0; i < 40; i++) {
        const q = randomQuery(pool);
        const [a, b] = await Promise.all([level.listObjects(account, container, q), pgStore.listObjects(account, container, q)]);
        expect(b, JSON.stringify({ account, container, q })).toEqual(a);
        tally(a);
        compared++;
      }
    }
    for (const account of accounts) {
      for (let i = 0; i < 60; i++) {
        const q = randomQuery(containers.get(account)!);
        const [a, b] = await Promise.all([level.listContainers(account, q), pgStore.listContainers(account, q)]);
        expect(b, JSON.stringify({ account, q })).toEqual(a);
        tally(a);
        compared++;
      }
    }
    // Not vacuous: most listings return entries, many of them pseudo-directories.
    expect(compared).toBeGreaterThan(500);
    expect(nonEmpty).toBeGreaterThan(compared / 2);
    expect(withSubdirs).toBeGreaterThan(compared / 10);
  });
});

/** Maps compare by content; key order inside records is not part of the contract. */
function normalize(v: unknown): unknown {
  if (v instanceof Map) return [...v.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (v && typeof v === 'object' && 'previous' in v && 'garbage' in v) {
    const r = v as { previous: Map<string, unknown>; garbage: string[] };
    return { previous: normalize(r.previous), garbage: r.garbage };
  }
  return v;
}
