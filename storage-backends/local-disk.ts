/**
 * The default blob store: one file per blob under `root/blobs/<aa>/<bb>/<blobId>`, where
 * aa/bb come from a hash of the id so that time-ordered ids still spread over 65,536
 * directories. Writes stream into `root/tmp/`, are fsynced, then renamed into place and
 * the directory fsynced, so after a crash a blob is either complete or absent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { dirname, join, resolve } from 'node:path';
import { errors, isSwiftgateError } from '../src/core/errors.ts';
import type { SendOptions, SocketSendable } from '../src/core/send-stream.ts';
import type { BlobStat, BlobStore, BlobWriteOptions, BlobWriteResult, ByteRange } from './blob-store.ts';
import { acquireMd5Pool, HashingStager, type Md5Pool, releaseMd5Pool } from './md5-pool.ts';

const READ_HIGH_WATER_MARK = 256 * 1024;
/** sendTo(): two reused buffers of this size, one being read while the other is sent. */
const SEND_BUFFER_BYTES = 1024 * 1024;
const SEND_BUFFERS = 2;
/** Idle send buffers kept across downloads: fresh memory costs page faults on first touch. */
const IDLE_SEND_BUFFERS_KEPT = 8;
/** Ids become file names: no dots or slashes, so no `..` and no clash with temp names. */
const BLOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
const HEX2 = /^[0-9a-f]{2}$/;

export interface LocalDiskOptions {
  root: string;
}

export class LocalDiskBlobStore implements BlobStore {
  readonly root: string;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  /** `aa/bb` directories known to exist, so a small PUT costs no mkdir. */
  private readonly knownDirs = new Set<string>();
  /** Temp files of writes in flight, which cleanupIncomplete must not pull away. */
  private readonly activeTemps = new Set<string>();
  private tmpSeq = 0;
  private closed = false;
  private readonly md5: Md5Pool = acquireMd5Pool();

  constructor(opts: LocalDiskOptions) {
    this.root = resolve(opts.root);
    this.blobsDir = join(this.root, 'blobs');
    this.tmpDir = join(this.root, 'tmp');
    // One-off at startup, so sync is fine; fsync the parents of what we created so the
    // layout itself survives a crash.
    for (const dir of [this.blobsDir, this.tmpDir]) {
      const created = mkdirSync(dir, { recursive: true });
      if (created === undefined) continue;
      fsyncDirSync(dirname(created));
      if (created !== dir) fsyncDirSync(dirname(dir));
    }
  }

  /** Same as the constructor; here for symmetry with backends whose setup is async. */
  static async open(opts: LocalDiskOptions): Promise<LocalDiskBlobStore> {
    return new LocalDiskBlobStore(opts);
  }

  newBlobId(): string {
    // Time first so ids sort roughly by creation; 64 random bits make clashes negligible.
    return Date.now().toString(16).padStart(12, '0') + randomBytes(8).toString('hex');
  }

  async write(blobId: string, source: Readable, options: BlobWriteOptions = {}): Promise<BlobWriteResult> {
    this.assertOpen();
    const { expectedSize, maxSize, signal } = options;
    const dir = this.blobDir(blobId);
    const dest = join(dir, blobId);
    const tmpName = `${blobId}.${(++this.tmpSeq).toString(36)}.tmp`; // seq: two writes of one id never share a file
    const tmpPath = join(this.tmpDir, tmpName);
    this.activeTemps.add(tmpName);

    let size = 0;
    const state: { handle?: FileHandle } = {}; // an object: TS cannot track closure writes to a let
    let renamed = false;
    // The temp file is opened lazily: nothing may be awaited before the loop below starts
    // listening to `source`, or an early 'error' event would go unhandled and crash us.
    const handle = async (): Promise<FileHandle> => (state.handle ??= await disk('create temp file', () => open(tmpPath, 'wx')));
    // Slot-sized writes, one at a time, while a worker hashes the same bytes.
    const stager = new HashingStager(this.md5, (bytes, position) =>
      disk('write', async () => {
        const h = await handle();
        // libuv loops over partial writes itself; a short count means the disk refused.
        const { bytesWritten } = await h.write(bytes, 0, bytes.length, position);
        if (bytesWritten !== bytes.length) throw errors.internal(`short write to ${tmpPath}`);
      }),
    );

    // Scoped to this call (unlike stream.addAbortSignal): destroying the source makes the loop throw.
    const onAbort = (): void => {
      // An ended source has no listener left: its error would surface as an uncaught one.
      if (!source.readableEnded) source.destroy(errors.uploadAborted('upload aborted by the caller'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw errors.uploadAborted('upload aborted by the caller');
      if (expectedSize !== undefined && maxSize !== undefined && expectedSize > maxSize) {
        throw errors.objectTooLarge(`${expectedSize} bytes exceed the limit of ${maxSize}`);
      }
      // On our own refusals (too large, size mismatch) the source is left paused, not
      // destroyed: destroying an HTTP request kills its socket before a 413 can be sent.
      const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterable<unknown>;
      for await (const chunk of chunks) {
        const buf = toBuffer(chunk);
        size += buf.length;
        if (maxSize !== undefined && size > maxSize) {
          throw errors.objectTooLarge(`object exceeds the limit of ${maxSize} bytes`);
        }
        // No point storing bytes of an upload that is already known to be wrong.
        if (expectedSize !== undefined && size > expectedSize) throw errors.sizeMismatch(expectedSize, size);
        await stager.push(buf);
      }
      if (expectedSize !== undefined && size !== expectedSize) throw errors.sizeMismatch(expectedSize, size);
      const etag = await stager.finish();
      const h = await handle();
      if (signal?.aborted) throw errors.uploadAborted('upload aborted by the caller');

      // Crash-safe order: data durable, then the name, then the name's directory.
      await disk('fsync', () => h.datasync());
      state.handle = undefined;
      await disk('close', () => h.close());
      await this.renameIntoPlace(tmpPath, dir, dest);
      renamed = true;
      await disk('fsync directory', () => fsyncDir(dir));
      return { blobId, size, etag };
    } catch (err) {
      await stager.dispose();
      await state.handle?.close().catch(() => {});
      await unlink(renamed ? dest : tmpPath).catch(() => {});
      throw isSwiftgateError(err) ? err : aborted(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.activeTemps.delete(tmpName);
    }
  }

  async adopt(blobId: string, path: string, size: number): Promise<boolean> {
    this.assertOpen();
    const dir = this.blobDir(blobId);
    const dest = join(dir, blobId);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch {
      return false;
    }
    try {
      const [file, blobs] = await Promise.all([handle.stat(), stat(this.blobsDir)]);
      // A hard link needs the same filesystem; the size guards against a file still growing.
      if (file.dev !== blobs.dev || file.size !== size || !file.isFile()) return false;
      await disk('fsync', () => handle.datasync());
    } finally {
      await handle.close().catch(() => undefined);
    }
    await this.ensureDir(dir);
    try {
      await link(path, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return false;
      throw errors.internal(`cannot link ${path} into place`, err);
    }
    try {
      await disk('fsync directory', () => fsyncDir(dir));
    } catch (err) {
      await unlink(dest).catch(() => undefined);
      throw err;
    }
    return true;
  }

  async read(blobId: string, range?: ByteRange): Promise<Readable> {
    this.assertOpen();
    const path = join(this.blobDir(blobId), blobId);
    let handle: FileHandle;
    try {
      // Open before returning, so a missing blob rejects here, not as a stream error later.
      handle = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw errors.notFound(`blob ${blobId}`);
      throw errors.internal(`cannot open blob ${blobId}`, err);
    }
    try {
      let start: number | undefined;
      let end: number | undefined;
      if (range) {
        const ok = Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end);
        if (!ok || range.start < 0 || range.end < range.start) {
          throw errors.invalidArgument(`invalid byte range ${range.start}-${range.end}`);
        }
        const { size } = await handle.stat();
        if (range.start >= size) throw errors.rangeNotSatisfiable();
        start = range.start;
        end = Math.min(range.end, size - 1);
      }
      // The stream owns the handle from here and closes it when done or destroyed.
      return new BlobReadStream(handle, start ?? 0, end === undefined ? Infinity : end + 1);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stat(blobId: string): Promise<BlobStat | undefined> {
    try {
      const st = await stat(join(this.blobDir(blobId), blobId));
      return { size: st.size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw isSwiftgateError(err) ? err : errors.internal(`cannot stat blob ${blobId}`, err);
    }
  }

  async delete(blobId: string): Promise<void> {
    try {
      await unlink(join(this.blobDir(blobId), blobId));
    } catch (err) {
      if (isMissing(err)) return;
      throw isSwiftgateError(err) ? err : errors.internal(`cannot delete blob ${blobId}`, err);
    }
  }

  async *list(): AsyncIterable<string> {
    for (const aa of await listDir(this.blobsDir)) {
      if (!HEX2.test(aa)) continue;
      for (const bb of await listDir(join(this.blobsDir, aa))) {
        if (!HEX2.test(bb)) continue;
        for (const name of await listDir(join(this.blobsDir, aa, bb))) {
          if (BLOB_ID.test(name)) yield name;
        }
      }
    }
  }

  async cleanupIncomplete(): Promise<number> {
    let removed = 0;
    for (const name of await listDir(this.tmpDir)) {
      if (this.activeTemps.has(name)) continue;
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.knownDirs.clear();
    await releaseMd5Pool();
  }

  private assertOpen(): void {
    if (this.closed) throw errors.backendUnavailable('local blob store is closed');
  }

  private blobDir(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw errors.invalidArgument(`invalid blob id ${JSON.stringify(blobId)}`);
    const h = createHash('md5').update(blobId).digest('hex');
    return join(this.blobsDir, h.slice(0, 2), h.slice(2, 4));
  }

  private async renameIntoPlace(tmpPath: string, dir: string, dest: string): Promise<void> {
    await this.ensureDir(dir);
    try {
      await rename(tmpPath, dest);
    } catch (err) {
      if (!isMissing(err)) throw errors.internal(`cannot rename ${tmpPath} into place`, err);
      // The directory vanished behind our cache's back (manual cleanup): recreate once.
      this.knownDirs.delete(dir);
      await this.ensureDir(dir);
      await disk('rename', () => rename(tmpPath, dest));
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const created = await disk('mkdir', () => mkdir(dir, { recursive: true }));
    if (created !== undefined) {
      // New directory entries must be durable too, or a synced blob could lose its path.
      await disk('fsync directory', () => fsyncDir(dirname(dir)));
      if (created !== dir) await disk('fsync directory', () => fsyncDir(dirname(dirname(dir))));
    }
    this.knownDirs.add(dir);
  }
}

const idleSendBuffers: Buffer[] = [];

/**
 * A blob's bytes [pos, end) as a Readable, plus sendTo() for sockets (see
 * src/core/send-stream.ts): it reads into SEND_BUFFERS reused buffers and reuses one
 * only after the socket's write callback for it fired — no allocation and no page
 * faults per chunk, which is what capped createReadStream at ~700 MB/s here.
 */
class BlobReadStream extends Readable implements SocketSendable {
  private started = false;

  constructor(
    private readonly handle: FileHandle,
    private pos: number,
    private readonly end: number, // exclusive; Infinity reads to the end of the file
  ) {
    super({ highWaterMark: READ_HIGH_WATER_MARK });
  }

  override _read(): void {
    this.started = true;
    const want = Math.min(READ_HIGH_WATER_MARK, this.end - this.pos);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(want);
    this.handle.read(buf, 0, want, this.pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        this.pos += bytesRead;
        this.push(bytesRead < want ? buf.subarray(0, bytesRead) : buf);
      },
      (err: unknown) => this.destroy(errors.internal('local blob store: read failed', err)),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // FileHandle.close() waits for a read still in flight.
    this.handle.close().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? (closeErr as Error)),
    );
  }

  async sendTo(out: Writable, options: SendOptions = {}): Promise<void> {
    const { signal, onProgress } = options;
    if (this.started || this.destroyed) throw errors.internal('sendTo() on a blob stream that is already being read');
    this.started = true;
    // Whatever happens to `out` (peer reset, destroyed by an ABOR) ends the send at once.
    let outFailure: Error | undefined;
    let wake: (() => void) | undefined;
    const stop = new Promise<void>((resolve) => (wake = resolve));
    const onError = (err: Error): void => {
      outFailure ??= err;
      wake?.();
    };
    let finished = false; // 'close' follows 'finish' (an HTTP response's at once): not a failure then
    const onClose = (): void => {
      if (!finished) onError(prematureClose());
    };
    const onAbort = (): void => onError(abortError(signal));
    out.on('error', onError);
    out.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    /** Resolves with p, or rejects as soon as `out` fails or the signal fires. */
    const guarded = async <T>(p: Promise<T>): Promise<T> => {
      if (outFailure) throw outFailure;
      const r = await Promise.race([p, stop.then(() => undefined)]);
      if (outFailure) throw outFailure;
      return r as T;
    };

    const buffers = Array.from({ length: SEND_BUFFERS }, () => idleSendBuffers.pop() ?? Buffer.allocUnsafeSlow(SEND_BUFFER_BYTES));
    const sent: Array<Promise<void> | undefined> = new Array<Promise<void> | undefined>(SEND_BUFFERS);
    let ok = false;
    try {
      if (signal?.aborted) throw abortError(signal);
      for (let k = 0; ; k = (k + 1) % SEND_BUFFERS) {
        await guarded(sent[k] ?? Promise.resolve()); // buffer k is ours again
        const buf = buffers[k] as Buffer;
        const want = Math.min(buf.length, this.end - this.pos);
        if (want <= 0) break;
        const { bytesRead } = await guarded(disk('read', () => this.handle.read(buf, 0, want, this.pos)));
        if (bytesRead === 0) break;
        this.pos += bytesRead;
        sent[k] = writeOut(out, bytesRead < buf.length ? buf.subarray(0, bytesRead) : buf);
        onProgress?.(bytesRead);
      }
      await guarded(Promise.all(sent));
      const ended = new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => {
          if (err) return reject(err);
          finished = true;
          resolve();
        }),
      );
      await guarded(ended);
      ok = true;
    } catch (err) {
      out.destroy();
      throw err;
    } finally {
      out.off('error', onError);
      out.off('close', onClose);
      // A late reset must not become an uncaught 'error' (pipeline leaves a listener too).
      if (out.listenerCount('error') === 0) out.on('error', () => {});
      signal?.removeEventListener('abort', onAbort);
      this.destroy();
      // After a failure a write may still hold a buffer: those are left to the GC.
      if (ok) for (const b of buffers) if (idleSendBuffers.length < IDLE_SEND_BUFFERS_KEPT) idleSendBuffers.push(b);
    }
  }
}

/** Writes one chunk; resolves when the destination is done with it. */
function writeOut(out: Writable, chunk: Buffer): Promise<void> {
  const p = new Promise<void>((resolve, reject) => {
    out.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
  p.catch(() => {}); // awaited later (guarded); a failure meanwhile must not be "unhandled"
  return p;
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw errors.invalidArgument('blob source must yield bytes');
}

/** Runs a filesystem step; its failures are ours (500), not the client's. */
async function disk<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw isSwiftgateError(err) ? err : errors.internal(`local blob store: ${what} failed`, err);
  }
}

/** Anything from the source side (client reset, abort signal, premature close) means the upload was cut off. */
function aborted(cause: unknown): Error {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  const err = errors.uploadAborted(`upload was cut off before it completed${detail}`);
  err.cause = cause;
  return err;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw errors.internal(`cannot list ${dir}`, err);
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
