/**
 * Swift listing semantics of the real LevelDB store (LevelMetadataStore.listObjects and
 * listContainers, in a real temp dir) against the brute-force model of
 * ./listing-model.ts, on randomized names and queries; pagination by marker; and the
 * model itself against a real OpenStack Swift broker when one is installed.
 *
 * Replay a failure with SWIFTGATE_SEED=<seed printed in the test title>.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerListing, ListQuery, ObjectListing, ObjectRecord } from '../../src/core/types.ts';
import { LevelMetadataStore } from '../../src/metadata/level-store.ts';
import { type NameKind, describeQuery, randomNames, randomQuery } from './listing-gen.ts';
import { type ModelEntry, modelList, sortUtf8 } from './listing-model.ts';
import { Rng, testSeed } from './prng.ts';

let dir: string;
let store: LevelMetadataStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swiftgate-listing-'));
  // Listing semantics do not depend on fsync; sync: false keeps 20k commits quick.
  store = await LevelMetadataStore.open(join(dir, 'meta'), { sync: false });
});

afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

const TS = '1700000000.00000';

function record(container: string, name: string, size: number): ObjectRecord {
  return {
    account: 'AUTH_list',
    container,
    name,
    size,
    etag: `etag-of-${size}`,
    contentType: name.endsWith('/') ? 'application/directory' : 'text/plain',
    timestamp: TS,
    metaTimestamp: TS,
    blobId: `blob${container}x${size}`,
    meta: {},
    headers: {},
  };
}

const entryNames = (listing: ObjectListing | ContainerListing): ModelEntry[] =>
  listing.map((e) => ({ kind: e.kind === 'subdir' ? 'subdir' : 'object', name: e.name }));

/** Walks every page (marker = last entry's name) and returns the concatenation. */
async function walkPages<L extends ObjectListing | ContainerListing>(list: (q: ListQuery) => Promise<L>, q: ListQuery): Promise<{ all: L[number][]; pages: number }> {
  const all: L[number][] = [];
  let marker = q.marker;
  for (let pages = 1; ; pages++) {
    const page = await list({ ...q, ...(marker !== undefined ? { marker } : {}) });
    all.push(...page);
    const last = page[page.length - 1];
    if (page.length < q.limit || !last) return { all, pages };
    if (pages > 10_000) throw new Error('pagination does not terminate');
    marker = last.name;
  }
}

function expectSameListing(actual: ModelEntry[], expected: ModelEntry[], context: object): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect({ ...context, listing: actual }).toEqual({ ...context, listing: expected });
}

function expectNoDuplicates(entries: ModelEntry[], context: object): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.kind}:${e.name}`;
    if (seen.has(key)) expect({ ...context, duplicate: key }).toBeUndefined();
    seen.add(key);
  }
}

describe('LevelMetadataStore.listObjects vs the Swift model', () => {
  const seed = testSeed(0x0b1ec7);
  it(`random containers and queries, with pagination (seed ${seed})`, async () => {
    const rng = new Rng(seed);
    let queries = 0;
    let pagesWalked = 0;
    for (let iter = 0; iter < 300; iter++) {
      const container = `c${iter}`;
      await store.createContainer('AUTH_list', container, TS);
      const names = randomNames(rng, 'objects');
      const sizes = new Map(names.map((n, i) => [n, i * 7 + 1]));
      // Half the containers are filled in one atomic commit, half one name at a time.
      if (iter % 2 === 0) {
        await store.commitObjects('AUTH_list', container, names.map((n) => ({ op: 'put' as const, record: record(container, n, sizes.get(n)!) })));
      } else {
        await Promise.all(names.map((n) => store.commitObjects('AUTH_list', container, [{ op: 'put', record: record(container, n, sizes.get(n)!) }])));
      }
      const sorted = sortUtf8(names);
      const list = (q: ListQuery) => store.listObjects('AUTH_list', container, q);
      for (let j = 0; j < 12; j++) {
        const q = randomQuery(rng, sorted, 'objects');
        const context = { seed, iter, names: sorted, query: describeQuery(q) };
        const got = await list(q);
        const want = modelList(sorted, q);
        expectSameListing(entryNames(got), want, context);
        for (const e of got) {
          if (e.kind !== 'object') continue;
          const size = sizes.get(e.name)!;
          expect(e).toEqual({ kind: 'object', name: e.name, size, etag: `etag-of-${size}`, contentType: e.name.endsWith('/') ? 'application/directory' : 'text/plain', lastModified: TS });
        }
        queries++;

        // Pagination: pages of this query chained by marker = the full listing, no repeats.
        if (q.limit <= 10) {
          const full = modelList(sorted, { ...q, limit: 100_000 });
          const { all, pages } = await walkPages(list, q);
          expectSameListing(entryNames(all), full, { ...context, paginated: true });
          expectNoDuplicates(entryNames(all), context);
          pagesWalked += pages;
        }
      }
    }
    expect(queries).toBe(3600);
    expect(pagesWalked).toBeGreaterThan(1000);
  });
});

describe('LevelMetadataStore.listContainers vs the Swift model', () => {
  const seed = testSeed(0xacc0);
  it(`random accounts and queries, with pagination (seed ${seed})`, async () => {
    const rng = new Rng(seed);
    for (let iter = 0; iter < 120; iter++) {
      const account = `AUTH_acct${iter}`;
      const names = randomNames(rng, 'containers', 40);
      await Promise.all(names.map((n) => store.createContainer(account, n, TS)));
      const sorted = sortUtf8(names);
      const list = (q: ListQuery) => store.listContainers(account, q);
      for (let j = 0; j < 12; j++) {
        const q = randomQuery(rng, sorted, 'containers');
        const context = { seed, iter, names: sorted, query: describeQuery(q) };
        const got = await list(q);
        expectSameListing(entryNames(got), modelList(sorted, q), context);
        for (const e of got) if (e.kind === 'container') expect(e).toEqual({ kind: 'container', name: e.name, objectCount: 0, bytesUsed: 0, lastModified: TS });
        if (q.limit <= 10) {
          const { all } = await walkPages(list, q);
          expectSameListing(entryNames(all), modelList(sorted, { ...q, limit: 100_000 }), { ...context, paginated: true });
          expectNoDuplicates(entryNames(all), context);
        }
      }
      expect((await store.getAccount(account))?.containerCount ?? 0).toBe(names.length);
    }
  });
});

describe('listing edge cases in the store', () => {
  it('orders astral characters after every BMP character (UTF-8 order, not UTF-16)', async () => {
    await store.createContainer('AUTH_list', 'utf8', TS);
    const names = ['\u{FF71}', '😀', '\u{E000}', 'z', 'é', '\u{1F600}x', '\u{FFFD}'];
    await store.commitObjects('AUTH_list', 'utf8', names.map((n) => ({ op: 'put' as const, record: record('utf8', n, 1) })));
    const got = (await store.listObjects('AUTH_list', 'utf8', { limit: 100 })).map((e) => e.name);
    expect(got).toEqual(['z', 'é', '\u{E000}', '\u{FF71}', '\u{FFFD}', '😀', '\u{1F600}x']);
    const rev = (await store.listObjects('AUTH_list', 'utf8', { limit: 100, reverse: true })).map((e) => e.name);
    expect(rev).toEqual([...got].reverse());
    // A marker between the BMP and the astral plane.
    const after = (await store.listObjects('AUTH_list', 'utf8', { limit: 100, marker: '\u{FFFD}' })).map((e) => e.name);
    expect(after).toEqual(['😀', '\u{1F600}x']);
  });

  it('does not mix up containers whose names extend one another', async () => {
    await store.createContainer('AUTH_list', 'pre', TS);
    await store.createContainer('AUTH_list', 'prefix', TS);
    await store.commitObjects('AUTH_list', 'pre', [{ op: 'put', record: record('pre', 'x', 1) }]);
    await store.commitObjects('AUTH_list', 'prefix', [{ op: 'put', record: record('prefix', 'y', 1) }]);
    expect((await store.listObjects('AUTH_list', 'pre', { limit: 10 })).map((e) => e.name)).toEqual(['x']);
    expect((await store.listObjects('AUTH_list', 'prefix', { limit: 10 })).map((e) => e.name)).toEqual(['y']);
    expect((await store.listObjects('AUTH_list', 'pre', { limit: 10, reverse: true })).map((e) => e.name)).toEqual(['x']);
  });
});

// ------------------------------------------------------------------------------------
// The model against the real thing: OpenStack Swift's own brokers (SQLite), when the
// Swift Python package is installed (Debian: python3-swift). Skipped otherwise.

const ORACLE = fileURLToPath(new URL('./swift-listing-oracle.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const haveSwift = spawnSync(PYTHON, ['-c', 'import swift.container.backend, swift.account.backend'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveSwift)('the listing model vs a real Swift broker', () => {
  const seed = testSeed(0x5111f7);
  it(`agrees with Swift's list_objects_iter and list_containers_iter (seed ${seed})`, () => {
    const rng = new Rng(seed);
    const cases: Array<{ kind: NameKind; names: string[]; queries: ListQuery[] }> = [];
    for (let i = 0; i < 150; i++) {
      const kind: NameKind = i % 3 === 2 ? 'containers' : 'objects';
      const names = randomNames(rng, kind);
      cases.push({ kind, names, queries: Array.from({ length: 20 }, () => randomQuery(rng, names, kind)) });
    }
    const input = JSON.stringify(
      cases.map((c) => ({
        kind: c.kind,
        names: c.names,
        queries: c.queries.map((q) => ({ prefix: q.prefix, delimiter: q.delimiter, marker: q.marker, end_marker: q.endMarker, limit: q.limit, reverse: q.reverse, path: q.path })),
      })),
    );
    const r = spawnSync(PYTHON, [ORACLE], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const swift = JSON.parse(r.stdout) as Array<Array<Array<[string, boolean]>>>;
    let compared = 0;
    let pathBugCases = 0;
    cases.forEach((c, i) => {
      const sorted = sortUtf8(c.names);
      c.queries.forEach((q, j) => {
        const fromSwift = swift[i]![j]!.map(([name, isDir]) => ({ kind: isDir ? 'subdir' : 'object', name }));
        // Byte for byte, once Swift's path-hop bug is modelled too (see listing-model.ts)…
        expectSameListing(modelList(sorted, q, { swiftPathSkipBug: true }), fromSwift as ModelEntry[], { i, j, names: sorted, query: describeQuery(q) });
        // …and that bug is the only thing in which swiftgate's semantics differ.
        if (JSON.stringify(modelList(sorted, q)) !== JSON.stringify(fromSwift)) {
          expect(q.path !== undefined && !q.reverse).toBe(true);
          pathBugCases++;
        }
        compared++;
      });
    });
    expect(compared).toBe(3000);
    expect(pathBugCases).toBeGreaterThanOrEqual(0);
  }, 120_000);
});
