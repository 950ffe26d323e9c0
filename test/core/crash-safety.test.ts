/**
 * Crash safety for real: a child process (./crash-writer.ts) writes, overwrites,
 * renames, copies and deletes objects on a data dir and is SIGKILLed at random moments,
 * five times over the same dir. After each kill the store is reopened here, recovered
 * (`namespace.recover()`), and must be consistent:
 *
 *  - every object record's blob exists, with the record's size and MD5 (= its ETag);
 *  - container and account counts and bytes equal a recomputation from a full scan;
 *  - no blob is left that no record references; no pending or garbage mark, no temp file;
 *  - fsck (src/fsck.ts, deep) reports no problem;
 *  - durability and atomicity: every acknowledged operation is there; an operation cut
 *    off by the kill is either wholly there or wholly absent (a rename never leaves
 *    both names, or neither).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../storage-backends/blob-store.ts';
import type { MetadataStore } from '../../src/metadata/store.ts';
import { CRASH_ACCOUNT, type CrashOp, NAMES_PER_WORKER, WORKERS, containerOf, nameOf } from './crash-writer.ts';
import { expectNoStrayBlobs, md5, openWorld, readAll } from './fixtures.ts';
import { Rng, testSeed } from './prng.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FSCK = fileURLToPath(new URL('../../src/fsck.ts', import.meta.url));

/** name → ETag of what it holds (null: absent). Keys are "container/name". */
type State = Map<string, string | null>;

interface Run {
  /** Per worker, completed operations in order, and the one cut off by the kill (if any). */
  done: CrashOp[][];
  inFlight: Array<CrashOp | undefined>;
  doneCount: number;
  stderr: string;
}

function runWriterUntilKilled(dataDir: string, seed: number, killAfterDone: number, extraDelayMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { done: Array.from({ length: WORKERS }, () => []), inFlight: Array(WORKERS).fill(undefined), doneCount: 0, stderr: '' };
    let buf = '';
    let killing = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer made too little progress (${run.doneCount} ops): ${run.stderr}`));
    }, 45_000);
    child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line) as { t: string; w: number } & CrashOp;
        if (msg.t === 'start') {
          const { t: _t, w: _w, ...op } = msg;
          run.inFlight[msg.w] = op as CrashOp;
        } else if (msg.t === 'done') {
          run.done[msg.w]!.push(run.inFlight[msg.w]!);
          run.inFlight[msg.w] = undefined;
          run.doneCount++;
          if (run.doneCount >= killAfterDone && !killing) {
            killing = true;
            setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
          }
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Lines still buffered in the pipe were handled by 'data' before 'exit'… except a
      // last partial line, which cannot be a complete announcement anyway.
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code}): ${run.stderr}`));
      else resolve(run);
    });
  });
}

function apply(state: State, container: string, op: CrashOp): void {
  const k = (n: string) => `${container}/${n}`;
  switch (op.op) {
    case 'put':
      state.set(k(op.name), op.etag);
      break;
    case 'delete':
      state.set(k(op.name), null);
      break;
    case 'rename':
      state.set(k(op.to), state.get(k(op.name)) ?? null);
      state.set(k(op.name), null);
      break;
    case 'copy':
      state.set(k(op.to), state.get(k(op.name)) ?? null);
      break;
  }
}

async function readState(store: MetadataStore): Promise<State> {
  const state: State = new Map();
  for (let w = 0; w < WORKERS; w++)
    for (let n = 0; n < NAMES_PER_WORKER; n++) {
      const c = containerOf(w);
      const rec = await store.getObject(CRASH_ACCOUNT, c, nameOf(w, n));
      state.set(`${c}/${nameOf(w, n)}`, rec ? rec.etag : null);
    }
  return state;
}

async function expectBlobsMatchRecords(store: MetadataStore, blobs: BlobStore): Promise<number> {
  let checked = 0;
  for await (const account of store.scanAccounts())
    for await (const container of store.scanContainers(account.name))
      for await (const rec of store.scanObjects(account.name, container.name)) {
        const where = `${container.name}/${rec.name}`;
        expect(await blobs.stat(rec.blobId), `blob of ${where}`).toEqual({ size: rec.size });
        const bytes = await readAll(await blobs.read(rec.blobId));
        expect([where, bytes.length, md5(bytes)]).toEqual([where, rec.size, rec.etag]);
        checked++;
      }
  return checked;
}

describe('crash safety (SIGKILL of a writing process)', () => {
  let dataDir: string | undefined;

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const seed = testSeed(0xdead);
  it(`recovers to a consistent, durable state after every kill (seed ${seed})`, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'swiftgate-crash-'));
    const rng = new Rng(seed);
    let known: State = new Map();
    const rounds = 5;
    let totalOps = 0;
    let cutOff = 0;
    const debris = { temp: 0, pending: 0, garbage: 0 };
    for (let round = 0; round < rounds; round++) {
      const run = await runWriterUntilKilled(dataDir, seed + round, rng.int(25, 120), rng.int(0, 150));
      totalOps += run.doneCount;

      const w = await openWorld({ dir: dataDir });
      try {
        const r = await w.ns.recover();
        debris.temp += r.temp;
        debris.pending += r.pending;
        debris.garbage += r.garbage;

        // Durability and atomicity, worker by worker: the acknowledged state, or that
        // plus the one operation the kill cut off — nothing in between.
        const actual = await readState(w.store);
        for (let wk = 0; wk < WORKERS; wk++) {
          const c = containerOf(wk);
          const mine = [...actual.keys()].filter((k) => k.startsWith(`${c}/w${wk}-`));
          const expected: State = new Map(mine.map((k) => [k, known.get(k) ?? null]));
          for (const op of run.done[wk]!) apply(expected, c, op);
          const alternative: State = new Map(expected);
          const cut = run.inFlight[wk];
          if (cut) apply(alternative, c, cut);
          const got = Object.fromEntries(mine.map((k) => [k, actual.get(k) ?? null]));
          const want = Object.fromEntries(expected);
          const orCut = Object.fromEntries(alternative);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            expect({ round, worker: wk, cut, state: got }).toEqual({ round, worker: wk, cut, state: orCut });
            cutOff++;
          }
        }
        known = actual;

        // Consistency of everything.
        const checked = await expectBlobsMatchRecords(w.store, w.blobs);
        expect(checked).toBe([...actual.values()].filter((v) => v !== null).length);
        await expectNoStrayBlobs(w); // counts = full scan; blobs = referenced; no marks, no temp files
        if (existsSync(FSCK)) {
          const { fsck } = (await import(FSCK)) as typeof import('../../src/fsck.ts');
          const report = await fsck(w.store, w.blobs, { deep: true });
          expect(report.problems).toEqual([]);
          expect(report.objects).toBe(checked);
        }
      } finally {
        await w.close({ keep: true });
      }
    }
    expect(totalOps).toBeGreaterThan(rounds * 25);
    // Informational: how many kills landed while an operation was being committed.
    console.log(
      `crash-safety: ${rounds} kills, ${totalOps} acknowledged ops, ${cutOff} cut-off ops found applied; ` +
        `recover() removed ${debris.temp} temp files, ${debris.pending} pending blobs, ${debris.garbage} garbage blobs`,
    );
  }, 240_000);
});
