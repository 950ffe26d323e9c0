/**
 * GroupCommitter on a real LevelDB in a temp dir: which batches are synced. The db's
 * batch() is wrapped only to record the `sync` option LevelDB receives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFERRED_SYNC_MS, GroupCommitter } from './group-commit.ts';

describe('GroupCommitter durability', () => {
  let dir: string;
  let db: Level<string, unknown>;
  let syncs: boolean[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-group-commit-'));
    db = new Level<string, unknown>(dir, { keyEncoding: 'utf8', valueEncoding: 'json' });
    await db.open();
    syncs = [];
    const batch = db.batch.bind(db) as (ops: unknown, opts: { sync?: boolean }) => Promise<void>;
    (db as unknown as { batch: typeof batch }).batch = (ops, opts) => {
      syncs.push(opts.sync === true);
      return batch(ops, opts);
    };
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs every durable commit', async () => {
    const w = new GroupCommitter(db, true);
    await w.enqueue([{ type: 'put', key: 'a', value: 1 }]);
    await w.enqueue([{ type: 'put', key: 'b', value: 2 }]);
    expect(syncs).toEqual([true, true]);
    await w.sync(); // nothing left to make durable: no write at all
    expect(syncs).toEqual([true, true]);
  });

  it('writes a deferred commit at once, readable, and syncs it on sync()', async () => {
    const w = new GroupCommitter(db, true);
    await w.enqueue([{ type: 'put', key: 'a', value: 1 }], false);
    expect(syncs).toEqual([false]);
    expect(db.getSync('a')).toBe(1);
    await w.sync();
    expect(syncs).toEqual([false, true]);
    await w.sync();
    expect(syncs).toEqual([false, true]);
  });

  it('syncs deferred commits on its own within DEFERRED_SYNC_MS', async () => {
    const w = new GroupCommitter(db, true);
    await w.enqueue([{ type: 'put', key: 'a', value: 1 }], false);
    await w.enqueue([{ type: 'put', key: 'b', value: 2 }], false);
    expect(syncs).toEqual([false, false]);
    await new Promise((r) => setTimeout(r, DEFERRED_SYNC_MS + 300));
    expect(syncs).toEqual([false, false, true]);
  });

  it('a durable commit after deferred ones covers them (one sync, no timer left)', async () => {
    const w = new GroupCommitter(db, true);
    await w.enqueue([{ type: 'put', key: 'a', value: 1 }], false);
    await w.enqueue([{ type: 'put', key: 'b', value: 2 }]);
    expect(syncs).toEqual([false, true]);
    await new Promise((r) => setTimeout(r, DEFERRED_SYNC_MS + 300));
    expect(syncs).toEqual([false, true]);
  });

  it('a batch shared by a durable and a deferred writer is synced', async () => {
    const w = new GroupCommitter(db, true);
    // The first batch is under way while the next two queue up and share one batch.
    const first = w.enqueue([{ type: 'put', key: 'a', value: 1 }], false);
    const both = Promise.all([w.enqueue([{ type: 'put', key: 'b', value: 2 }], false), w.enqueue([{ type: 'put', key: 'c', value: 3 }])]);
    await Promise.all([first, both]);
    expect(syncs).toEqual([false, true]);
  });

  it('drain() leaves nothing unsynced', async () => {
    const w = new GroupCommitter(db, true);
    await w.enqueue([{ type: 'put', key: 'a', value: 1 }], false);
    await w.drain();
    expect(syncs).toEqual([false, true]);
  });
});
