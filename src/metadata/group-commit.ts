/**
 * Group commit for a single-writer LevelDB: mutations are computed one at a time
 * against the newest state (committed, or enqueued in the overlay), queued, and written
 * together in one synced batch. Many concurrent writers share one fsync while every
 * read-modify-write (counts, bytes, previous versions) still sees all earlier writes.
 *
 * A writer may defer durability (a file closed through FUSE: POSIX promises durability
 * only at fsync). Its batch is written to the log without a sync, so it survives a crash
 * of this process, and becomes durable with the next synced batch — one that a durable
 * writer or sync() makes, or the timer at most DEFERRED_SYNC_MS later. A synced write
 * of the log covers every write before it.
 */
import type { Level } from 'level';
import { errors } from '../core/errors.ts';
import { keys } from './keys.ts';

type Value = unknown;
export type BatchOp =
  | { type: 'put'; key: string; value: Value; valueEncoding?: 'buffer' }
  | { type: 'del'; key: string };

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  durable: boolean;
}

/** The longest a deferred commit waits for its fsync (ext4 commits its journal every 5 s). */
export const DEFERRED_SYNC_MS = 1000;

export class GroupCommitter {
  /** key → newest enqueued value (`null`: deleted) and the batch that carries it. */
  private readonly overlay = new Map<string, { value: Value | null; seq: number }>();
  private queue: BatchOp[] = [];
  private waiters: Waiter[] = [];
  private seq = 1;
  private flushing = false;
  /** Batches were written without a sync since the last synced one. */
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Level<string, Value>,
    /** fsync commits at all (false only in benchmarks of the metadata layer alone). */
    private readonly syncWrites: boolean,
  ) {}

  /** Newest value of `key` as later mutations must see it. */
  async read<T>(key: string): Promise<T | undefined> {
    const o = this.overlay.get(key);
    if (o) return o.value === null ? undefined : (o.value as T);
    return (this.db.getSync(key)) as T | undefined;
  }

  /**
   * Queues ops (visible to `read` at once); resolves when they are durable, or with
   * `durable` false once they are written (durable within DEFERRED_SYNC_MS).
   */
  enqueue(ops: BatchOp[], durable = true): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    for (const op of ops) this.overlay.set(op.key, { value: op.type === 'put' ? op.value : null, seq: this.seq });
    for (const op of ops) this.queue.push(op);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, durable }));
    if (!this.flushing) void this.flush();
    return done;
  }

  /** Makes everything written so far durable (fsync(2) of a file closed before). */
  async sync(): Promise<void> {
    if (!this.syncWrites || (!this.unsynced && this.queue.length === 0 && !this.flushing)) return;
    // A synced write of anything makes the log durable up to it: delete a key never stored.
    await this.enqueue([{ type: 'del', key: keys.syncMarker() }]);
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const ops = this.queue;
        const waiters = this.waiters;
        const seq = this.seq++;
        this.queue = [];
        this.waiters = [];
        const sync = this.syncWrites && waiters.some((w) => w.durable);
        try {
          await this.db.batch(ops, { sync });
        } catch (err) {
          // Later queued ops were computed on top of this batch: none of them may land.
          const failure = errors.backendUnavailable('metadata commit failed', err);
          for (const w of [...waiters, ...this.waiters]) w.reject(failure);
          this.queue = [];
          this.waiters = [];
          this.overlay.clear();
          continue;
        }
        for (const [key, entry] of this.overlay) if (entry.seq <= seq) this.overlay.delete(key);
        if (sync) this.synced();
        else if (this.syncWrites) this.deferSync();
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Resolves when everything enqueued so far is written, and durable. */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 1));
    await this.sync();
    clearTimeout(this.syncTimer);
  }

  private deferSync(): void {
    this.unsynced = true;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      // A failure here fails no writer: the next durable write or sync() tries again.
      this.sync().catch(() => undefined);
    }, DEFERRED_SYNC_MS).unref();
  }

  private synced(): void {
    this.unsynced = false;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }
}

/** Serializes async critical sections per key (here: per account). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
