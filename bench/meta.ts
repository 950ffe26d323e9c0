/**
 * Metadata-layer benchmark: object-record inserts into ONE container of the embedded
 * LevelDB store as it grows to 1,000,000 records, page listings at that size, and disk
 * bytes per record.
 *
 *   npm run bench:meta                       (time-capped: about 2¾ minutes)
 *   BENCH_OBJECTS=200000 npm run bench:meta  (smaller run)
 *   BENCH_TIME_CAP_S=60 npm run bench:meta   (stop the growth phase early)
 *
 * Measures metadata only: records go in through `store.commitObjects` with fake blob
 * ids — no bytes are written, no blob store is involved. 64 commits are kept in flight
 * so the group committer can batch them, as concurrent uploads would.
 *
 * Phase 1 (sync: true, real durability: every batch fsynced) on a fresh store: the
 * rate a server actually sustains. Phase 2 (sync: false) on another fresh store: growth
 * to 1M records in reasonable time, rates over the first and the last 10k.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectRecord } from '../src/core/types.ts';
import { LevelMetadataStore } from '../src/metadata/level-store.ts';

const TARGET = Number(process.env.BENCH_OBJECTS ?? 1_000_000);
const SYNC_PHASE = Math.min(TARGET, Number(process.env.BENCH_SYNC_OBJECTS ?? 20_000));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** The whole run stays under this; the growth phase stops early (and says so) to keep it. */
const TOTAL_CAP_MS = Number(process.env.BENCH_TIME_CAP_S ?? 160) * 1000;
/** Kept back from the growth phase for the listings and the report. */
const RESERVE_MS = 20_000;
const SYNC_TIME_CAP_MS = 25_000;
const WINDOW = 10_000;
const PAGE = 10_000;
const LIST_RUNS = 3;
const ACCOUNT = 'AUTH_bench';
const CONTAINER = 'photos';

// dir<d>/sub<s>/file<n>.jpg: DIRS top-level directories of SUBS × FILES records, so a
// delimiter listing at the root rolls 40 records into each entry (a seek per entry).
const SUBS = 4;
const FILES = 10;
const DIRS = Math.max(1, Math.ceil(TARGET / (SUBS * FILES)));

function nameOf(i: number): string {
  const n = i % FILES;
  const s = Math.floor(i / FILES) % SUBS;
  const d = Math.floor(i / (FILES * SUBS));
  return `dir${d}/sub${s}/file${n}.jpg`;
}

/** Arrival order: a fixed permutation (not sorted), as uploads would arrive. */
function arrival(k: number, total: number): number {
  let step = 7919;
  while (gcd(step, total) !== 1) step += 2; // a bijection on [0, total)
  return (k * step + 12345) % total;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

const TS = '1700000000.00000';
function record(i: number): ObjectRecord {
  const name = nameOf(i);
  return {
    account: ACCOUNT,
    container: CONTAINER,
    name,
    size: 100_000 + (i % 900_000),
    etag: (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(4),
    contentType: 'image/jpeg',
    timestamp: TS,
    metaTimestamp: TS,
    blobId: `0190${i.toString(16).padStart(12, '0')}fakeblob${(i % 997).toString(16).padStart(4, '0')}`,
    meta: {},
    headers: {},
  };
}

interface Probe {
  batches: number;
}

/** Counts LevelDB batches (group commits) without changing them. */
function countBatches(store: LevelMetadataStore): Probe {
  const probe: Probe = { batches: 0 };
  const db = (store as unknown as { db?: { batch: (...a: unknown[]) => Promise<unknown> } }).db;
  if (db && typeof db.batch === 'function') {
    const batch = db.batch.bind(db);
    db.batch = (...a: unknown[]) => {
      probe.batches++;
      return batch(...a);
    };
  }
  return probe;
}

interface Growth {
  inserted: number;
  ms: number;
  /** Elapsed ms at every multiple of WINDOW inserted. */
  marks: number[];
  capped: boolean;
  batches: number;
}

async function grow(store: LevelMetadataStore, total: number, universe: number, capMs: number): Promise<Growth> {
  const probe = countBatches(store);
  const marks: number[] = [0];
  let next = 0;
  let inserted = 0;
  let stop = false;
  const t0 = performance.now();
  const worker = async () => {
    while (!stop && next < total) {
      const k = next++;
      await store.commitObjects(ACCOUNT, CONTAINER, [{ op: 'put', record: record(arrival(k, universe)) }]);
      inserted++;
      if (inserted % WINDOW === 0) {
        const now = performance.now() - t0;
        marks[inserted / WINDOW] = now;
        if (now > capMs) stop = true;
        if (inserted % 100_000 === 0) process.stderr.write(`  … ${inserted.toLocaleString('en')} records, ${(now / 1000).toFixed(1)} s\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { inserted, ms: performance.now() - t0, marks, capped: inserted < total, batches: probe.batches };
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en')} /s`;
}

async function diskBytes(dir: string): Promise<{ apparent: number; allocated: number }> {
  let apparent = 0;
  let allocated = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    if (!st.isFile()) continue;
    apparent += st.size;
    allocated += st.blocks * 512;
  }
  return { apparent, allocated };
}

async function timeListing(store: LevelMetadataStore, q: Parameters<LevelMetadataStore['listObjects']>[2]): Promise<{ first: number; median: number; entries: number; subdirs: number }> {
  const times: number[] = [];
  let entries = 0;
  let subdirs = 0;
  for (let i = 0; i < LIST_RUNS; i++) {
    const t0 = performance.now();
    const page = await store.listObjects(ACCOUNT, CONTAINER, q);
    times.push(performance.now() - t0);
    entries = page.length;
    subdirs = page.filter((e) => e.kind === 'subdir').length;
  }
  const first = times[0]!;
  const sorted = [...times].sort((a, b) => a - b);
  return { first, median: sorted[Math.floor(sorted.length / 2)]!, entries, subdirs };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'swiftgate-bench-meta-'));
  const started = performance.now();
  console.log(`swiftgate bench:meta — LevelMetadataStore, one container, ${CONCURRENCY} commits in flight`);
  console.log('Metadata only: records committed with store.commitObjects and fake blob ids; no blob I/O.\n');
  try {
    // ---------------------------------------------------------------- phase 1: sync
    const syncDir = join(root, 'sync');
    let store = await LevelMetadataStore.open(syncDir, { sync: true });
    await store.createContainer(ACCOUNT, CONTAINER, TS);
    process.stderr.write(`phase 1: sync: true, ${SYNC_PHASE.toLocaleString('en')} records…\n`);
    const syncRun = await grow(store, SYNC_PHASE, SYNC_PHASE, SYNC_TIME_CAP_MS);
    await store.close();
    await rm(syncDir, { recursive: true, force: true });

    // -------------------------------------------------------------- phase 2: growth
    const dir = join(root, 'growth');
    store = await LevelMetadataStore.open(dir, { sync: false });
    await store.createContainer(ACCOUNT, CONTAINER, TS);
    const growthCapMs = Math.max(10_000, TOTAL_CAP_MS - RESERVE_MS - (performance.now() - started));
    process.stderr.write(`phase 2: sync: false, growing to ${TARGET.toLocaleString('en')} records (cap ${(growthCapMs / 1000).toFixed(0)} s)…\n`);
    const g = await grow(store, TARGET, TARGET, growthCapMs);
    const reached = g.inserted;
    const c = await store.getContainer(ACCOUNT, CONTAINER);
    if (c?.objectCount !== reached) throw new Error(`container count ${c?.objectCount} != ${reached} inserted`);

    // ----------------------------------------------------------------- listings
    process.stderr.write('listing pages…\n');
    const plain = await timeListing(store, { limit: PAGE });
    const delim = await timeListing(store, { limit: PAGE, delimiter: '/' });
    const delimRev = await timeListing(store, { limit: PAGE, delimiter: '/', reverse: true });
    const mid = nameOf(Math.floor(reached / 2));
    const plainMid = await timeListing(store, { limit: PAGE, marker: mid });
    const inDir = await timeListing(store, { limit: PAGE, prefix: 'dir1234/', delimiter: '/' });

    await store.close();
    const disk = await diskBytes(dir);

    // ------------------------------------------------------------------- report
    const lastFull = Math.floor(reached / WINDOW);
    const firstWin = g.marks[1] !== undefined ? rate(WINDOW, g.marks[1]) : 'n/a';
    const lastWin = lastFull >= 2 ? rate(WINDOW, g.marks[lastFull]! - g.marks[lastFull - 1]!) : 'n/a';
    const syncFirst = syncRun.marks[1] !== undefined ? rate(WINDOW, syncRun.marks[1]) : 'n/a';
    const perBatch = (r: Growth) => (r.batches > 0 ? (r.inserted / r.batches).toFixed(1) : 'n/a');

    console.log('Inserts (one record per commit, into one container)');
    console.log(
      table([
        ['phase', 'records', 'time', 'rate', 'commits/batch'],
        [`sync: true  (fsync per batch)`, syncRun.inserted.toLocaleString('en'), `${(syncRun.ms / 1000).toFixed(1)} s`, rate(syncRun.inserted, syncRun.ms), perBatch(syncRun)],
        [`  first 10k (sync: true)`, '10,000', '', syncFirst, ''],
        [`sync: false (growth)`, reached.toLocaleString('en'), `${(g.ms / 1000).toFixed(1)} s`, rate(reached, g.ms), perBatch(g)],
        [`  first 10k (0 → 10k)`, '10,000', '', firstWin, ''],
        [`  last 10k (${((lastFull - 1) * WINDOW).toLocaleString('en')} → ${(lastFull * WINDOW).toLocaleString('en')})`, '10,000', '', lastWin, ''],
      ]),
    );
    if (syncRun.capped) console.log(`  (sync phase stopped at its ${SYNC_TIME_CAP_MS / 1000} s cap)`);
    if (g.capped)
      console.log(`  NOTE: growth stopped at its ${(growthCapMs / 1000).toFixed(0)} s cap with ${reached.toLocaleString('en')} of ${TARGET.toLocaleString('en')} records; listings below are at that size.`);
    const checkpoints: string[][] = [['records', 'elapsed', 'rate over the 10k before']];
    for (let m = 10; m <= lastFull; m += 10) {
      checkpoints.push([(m * WINDOW).toLocaleString('en'), `${(g.marks[m]! / 1000).toFixed(1)} s`, rate(WINDOW, g.marks[m]! - g.marks[m - 1]!)]);
    }
    if (checkpoints.length > 1) {
      console.log('\nGrowth (sync: false), every 100k');
      console.log(table(checkpoints));
    }

    console.log(`\nListing one page of ${PAGE.toLocaleString('en')} at ${reached.toLocaleString('en')} records (${LIST_RUNS} runs: first / median)`);
    const row = (what: string, r: typeof plain) => [what, `${r.entries.toLocaleString('en')} (${r.subdirs.toLocaleString('en')} subdirs)`, `${r.first.toFixed(1)} ms`, `${r.median.toFixed(1)} ms`];
    console.log(
      table([
        ['query', 'entries', 'first', 'median'],
        row('no delimiter, from the start', plain),
        row('no delimiter, marker mid-container', plainMid),
        row(`delimiter='/' (each entry skips ${SUBS * FILES} records)`, delim),
        row(`delimiter='/', reverse`, delimRev),
        row(`prefix='dir1234/', delimiter='/'`, inDir),
      ]),
    );

    console.log(`\nDisk (LevelDB dir after close, ${reached.toLocaleString('en')} records)`);
    console.log(
      table([
        ['measure', 'bytes', 'per record'],
        ['apparent size', disk.apparent.toLocaleString('en'), (disk.apparent / reached).toFixed(1)],
        ['allocated (du)', disk.allocated.toLocaleString('en'), (disk.allocated / reached).toFixed(1)],
      ]),
    );
    console.log(`\nTotal run time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
