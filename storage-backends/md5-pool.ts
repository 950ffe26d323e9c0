/**
 * MD5 off the main thread for large blob writes. MD5 (~400 MB/s per core here) was the
 * ceiling of a streamed upload when it shared the main thread with the socket reads and
 * file writes; here a small pool of worker threads hashes while the main thread keeps
 * reading and writing.
 *
 * Bytes are copied once into one of a few 512 KiB slots per upload; a full slot is written
 * to the sink (the temp file), then transferred (not copied) to a worker, which hashes it
 * and transfers it back to be filled again. So an upload holds at most RING_SLOTS slots
 * (backpressure: with none free, push() stops reading the source), and no slot is ever
 * touched by two threads at once. (A SharedArrayBuffer ring was tried first: V8 copies
 * into shared memory at ~750 MB/s, which cost more than it saved.) Uploads that end
 * before their first slot fills are hashed on the main thread and never touch a worker.
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errors } from '../src/core/errors.ts';

/** One file write and one worker message per slot; RING_SLOTS x this = 2 MiB, what the old batching held per upload. */
export const SLOT_BYTES = 512 * 1024;
/** Slots per upload: enough that the disk write and the hash of one slot overlap filling the next ones. */
export const RING_SLOTS = 4;
/** Idle slots kept for reuse across uploads: fresh memory costs page faults on first touch. */
const IDLE_SLOTS_KEPT = 16;
/** Plain JS: see the note at the top of md5-worker.mjs. */
const WORKER_URL = new URL('./md5-worker.mjs', import.meta.url);

type FromWorker =
  | { op: 'ack'; id: number; seq: number; slot: ArrayBuffer }
  | { op: 'digest'; id: number; hex: string | null }
  | { op: 'stats'; seq: number; jobs: number };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a dead worker rejects these whether or not someone awaits yet
  return { promise, resolve, reject };
}

interface JobState {
  acks: Map<number, Deferred<ArrayBuffer>>;
  done?: Deferred<string | null>;
}

class HashWorker {
  readonly jobs = new Map<number, JobState>();
  readonly stats = new Map<number, Deferred<number>>();
  failure?: Error;
  private readonly worker: Worker;

  constructor(private readonly onDead: (w: HashWorker) => void) {
    this.worker = new Worker(WORKER_URL);
    // Idle workers never hold the process open; ref'd only while a job is running.
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('messageerror', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`MD5 worker exited with code ${code}`)));
  }

  post(msg: object, transfer?: ArrayBuffer[]): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(msg, transfer);
  }

  addJob(id: number): JobState {
    const job: JobState = { acks: new Map() };
    if (this.jobs.size === 0) this.worker.ref();
    this.jobs.set(id, job);
    return job;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private onMessage(m: FromWorker): void {
    if (m.op === 'stats') {
      this.stats.get(m.seq)?.resolve(m.jobs);
      this.stats.delete(m.seq);
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.op === 'ack') {
      job.acks.get(m.seq)?.resolve(m.slot);
      job.acks.delete(m.seq);
      return;
    }
    // Messages are ordered: every ack of this job came before its digest.
    this.jobs.delete(m.id);
    if (this.jobs.size === 0) this.worker.unref();
    job.done?.resolve(m.hex);
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = errors.internal('MD5 worker failed; the upload cannot be completed', cause);
    for (const job of this.jobs.values()) {
      for (const a of job.acks.values()) a.reject(this.failure);
      job.done?.reject(this.failure);
    }
    this.jobs.clear();
    for (const s of this.stats.values()) s.reject(this.failure);
    this.stats.clear();
    this.onDead(this);
  }
}

/** One upload's hash state in a worker. Updates are hashed in the order posted. */
export class Md5Job {
  private seq = 0;
  private ended = false;

  constructor(
    private readonly worker: HashWorker,
    private readonly id: number,
    private readonly state: JobState,
  ) {}

  /** Hashes the first `length` bytes of `slot`, which moves to the worker; resolves with it back. */
  update(slot: ArrayBuffer, length: number): Promise<ArrayBuffer> {
    const seq = ++this.seq;
    const d = deferred<ArrayBuffer>();
    this.state.acks.set(seq, d);
    try {
      this.worker.post({ op: 'update', id: this.id, seq, slot, length }, [slot]);
    } catch (err) {
      this.state.acks.delete(seq);
      d.reject(err as Error);
    }
    return d.promise;
  }

  /** The hex digest of everything updated; the job is over. */
  async digest(): Promise<string> {
    const hex = await this.end();
    if (hex === null) throw errors.internal('MD5 worker lost the hash state of an upload');
    return hex;
  }

  /** Drops the job; resolves once the worker has let go of the ring (or is dead). */
  async abort(): Promise<void> {
    await this.end().catch(() => {});
  }

  private end(): Promise<string | null> {
    if (this.ended) return Promise.reject(errors.internal('MD5 job already ended'));
    this.ended = true;
    const d = deferred<string | null>();
    this.state.done = d;
    try {
      this.worker.post({ op: 'end', id: this.id });
    } catch (err) {
      d.reject(err as Error);
    }
    return d.promise;
  }
}

export class Md5Pool {
  private workers: HashWorker[] = [];
  private nextId = 0;
  private statSeq = 0;

  /** 0 hashes on the caller's thread: for hosts whose "cores" share one core's compute. */
  constructor(readonly size = defaultPoolSize()) {}

  /** A job on the least busy worker; workers start lazily, up to `size`. */
  start(): Md5Job {
    const id = ++this.nextId;
    let worker = this.workers.reduce<HashWorker | undefined>((best, w) => (!best || w.jobs.size < best.jobs.size ? w : best), undefined);
    if (!worker || (worker.jobs.size > 0 && this.workers.length < this.size)) {
      worker = new HashWorker((dead) => (this.workers = this.workers.filter((w) => w !== dead)));
      this.workers.push(worker);
    }
    const state = worker.addJob(id);
    const job = new Md5Job(worker, id, state);
    try {
      worker.post({ op: 'start', id });
    } catch {
      // Dead already: the job's first update fails with the worker's error.
    }
    return job;
  }

  /** For tests and diagnostics: jobs known here and jobs held by each worker. */
  async stats(): Promise<{ workers: number; jobs: number; workerJobs: number[] }> {
    const jobs = this.workers.reduce((n, w) => n + w.jobs.size, 0);
    const workerJobs = await Promise.all(
      this.workers.map((w) => {
        const seq = ++this.statSeq;
        const d = deferred<number>();
        w.stats.set(seq, d);
        w.post({ op: 'stats', seq });
        return d.promise;
      }),
    );
    return { workers: this.workers.length, jobs, workerJobs };
  }

  /** For tests: makes one worker throw, as a bug or an out-of-memory would. */
  crashOneWorker(): void {
    this.workers[0]?.post({ op: 'crash' });
  }

  /** Stops every worker; jobs still running fail. The pool starts new ones if used again. */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/**
 * SWIFTGATE_MD5_WORKERS, else workers only when a core is left over beyond the event
 * loop and the kernel's share: on 2 vCPUs (measured here) the handoff cost more CPU than
 * it saved (200 MiB: 1.35 s vs 1.1 s) and uploads under load were slower (133 vs 161 MB/s).
 */
function defaultPoolSize(): number {
  const env = process.env.SWIFTGATE_MD5_WORKERS;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  const cores = availableParallelism();
  return cores >= 3 ? Math.min(2, cores - 1) : 0;
}

let shared: Md5Pool | undefined;
let users = 0;

/** The process-wide pool, counted per blob store so the last close() stops its workers. */
export function acquireMd5Pool(): Md5Pool {
  users++;
  return (shared ??= new Md5Pool());
}

export async function releaseMd5Pool(): Promise<void> {
  users = Math.max(0, users - 1);
  if (users > 0 || !shared) return;
  const pool = shared;
  shared = undefined;
  await pool.close();
}

const idleSlots: ArrayBuffer[] = [];

/**
 * Stages a byte stream through a few slots: each full slot goes to `sink` (in order, one
 * at a time, at its byte position), then to an MD5 worker. push() waits while every slot
 * is busy. After a failure call dispose(), which waits until no write or hash is in flight.
 */
export class HashingStager {
  private current: Buffer | undefined; // the slot being filled
  private fill = 0;
  private readonly free: ArrayBuffer[] = [];
  private taken = 0; // slots this upload has, wherever they are
  private readonly inflight = new Set<Promise<void>>();
  private waiter: Deferred<void> | undefined;
  private failure: Error | undefined;
  private writes: Promise<void> = Promise.resolve();
  private position = 0;
  private job: Md5Job | undefined;
  private local: Hash | undefined; // a pool of size 0: hashed here, still in slot-sized writes

  constructor(
    private readonly pool: Md5Pool,
    private readonly sink: (bytes: Buffer, position: number) => Promise<void>,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    let off = 0;
    while (off < chunk.length) {
      const slot = (this.current ??= await this.takeSlot());
      const n = Math.min(SLOT_BYTES - this.fill, chunk.length - off);
      chunk.copy(slot, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === SLOT_BYTES) this.dispatch();
    }
  }

  /** Flushes the rest; resolves with the MD5 hex once every byte is written and hashed. */
  async finish(): Promise<string> {
    if (this.failure) throw this.failure;
    if (!this.job && !this.local) {
      // Shorter than one slot: hashing here is cheaper than a round trip to a worker.
      const view = (this.current ?? Buffer.alloc(0)).subarray(0, this.fill);
      const hex = createHash('md5').update(view).digest('hex');
      if (view.length > 0) await this.sink(view, 0);
      this.release();
      return hex;
    }
    if (this.fill > 0) this.dispatch();
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    if (this.failure) throw this.failure;
    const hex = this.local ? this.local.digest('hex') : await (this.job as Md5Job).digest();
    this.release();
    return hex;
  }

  /** After a failure: waits for writes and hashes in flight, drops the job, keeps the slots. */
  async dispose(): Promise<void> {
    this.failure ??= errors.uploadAborted();
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    await this.job?.abort();
    this.release();
  }

  private async takeSlot(): Promise<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const back = this.free.pop();
      if (back) return Buffer.from(back);
      if (this.taken < RING_SLOTS) {
        this.taken++;
        return Buffer.from(idleSlots.pop() ?? new ArrayBuffer(SLOT_BYTES));
      }
      this.waiter = deferred<void>();
      await this.waiter.promise;
    }
  }

  private dispatch(): void {
    const slot = this.current as Buffer;
    const length = this.fill;
    const position = this.position;
    this.current = undefined;
    this.fill = 0;
    this.position += length;
    if (this.pool.size === 0) (this.local ??= createHash('md5')).update(slot.subarray(0, length));
    const job = this.local ? undefined : (this.job ??= this.pool.start());
    // Written first, then hashed: the slot moves to the worker once the file is done with it.
    // Writes are chained, so updates reach the worker in byte order.
    const written = (this.writes = this.writes.then(() => this.sink(slot.subarray(0, length), position)));
    const done: Promise<void> = written
      .then(() => (job ? job.update(slot.buffer as ArrayBuffer, length) : (slot.buffer as ArrayBuffer)))
      .then(
        (back) => void this.free.push(back),
        (err: unknown) => void (this.failure ??= err instanceof Error ? err : errors.internal('blob write failed', err)),
      )
      .finally(() => {
        this.inflight.delete(done);
        const w = this.waiter;
        this.waiter = undefined;
        w?.resolve();
      });
    this.inflight.add(done);
  }

  private release(): void {
    if (this.current) this.free.push(this.current.buffer as ArrayBuffer);
    this.current = undefined;
    // Slots lost with a dead worker are simply not returned.
    for (const s of this.free.splice(0)) if (idleSlots.length < IDLE_SLOTS_KEPT) idleSlots.push(s);
  }
}
