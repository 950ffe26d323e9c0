/**
 * The write spool of a file open for writing, so random writes, truncates and re-reads
 * behave as on a disk; it becomes ONE object on commit. Small files stay in memory
 * (most creates: no temp file to make, write and unlink per file); past MEMORY_LIMIT
 * the bytes move to a temp file under <spool root>/<pid>/. Directories of dead
 * processes are removed on the next mount.
 *
 * Writes reach the file synchronously: a page-cache write of one FUSE request (128 KiB)
 * takes tens of microseconds, while a thread-pool round trip costs more than that here.
 * The MD5 of a file written front to back trails the writes: each write is answered
 * first and its bytes hashed right after (read back from the spool), while the kernel
 * brings the next request — so hashing overlaps the round trip instead of adding to it.
 */
import { type Hash, createHash } from 'node:crypto';
import { createReadStream, readSync, writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { PutSource } from './backend.ts';

/** Files up to this size never touch the disk before their commit. */
export const MEMORY_LIMIT = 256 * 1024;
/** Bytes hashed per turn of the event loop while catching up behind the writes. */
const HASH_SLICE = 256 * 1024;
/** Past this many unhashed bytes a write waits for the hash to catch up (memory and latency stay bounded). */
const MAX_HASH_LAG = 8 * 1024 * 1024;
/** Read-back buffer of the trailing hash, shared: hashing runs on the main thread, one slice at a time. */
let hashScratch: Buffer | undefined;

let counter = 0;

export class Spool {
  private readonly dir: string;
  /** In memory: the bytes (capacity ≥ size); undefined once moved to a file. */
  private mem: Buffer | undefined = Buffer.alloc(0);
  private memSize = 0;
  private file: { path: string; fh: FileHandle } | undefined;
  /**
   * MD5 of bytes [0, hashedTo) while the file is written front to back (cp, dd, a
   * download), so a commit has its ETag without re-reading the spool; [hashedTo,
   * writtenTo) are written but not hashed yet (see catchUp).
   */
  private hash: Hash | undefined;
  private hashedTo = 0;
  private writtenTo = 0;
  private catchUpScheduled = false;
  private lentFile = false;

  private constructor(dir: string, hashWrites: boolean) {
    this.dir = dir;
    this.hash = hashWrites ? createHash('md5') : undefined;
  }

  static create(dir: string, opts: { hashWrites?: boolean } = {}): Spool {
    return new Spool(dir, opts.hashWrites === true);
  }

  async write(buf: Buffer, len: number, pos: number): Promise<void> {
    // Front to back so far? Then these bytes join the trailing hash once they are stored.
    const sequential = this.hash !== undefined && pos === this.writtenTo;
    if (!sequential) this.hash = undefined; // random write: hash the file at commit
    const mem = this.mem;
    if (mem && pos + len <= MEMORY_LIMIT) {
      const end = pos + len;
      if (end > mem.length) this.mem = grow(mem, this.memSize, end);
      // Bytes between the old end and pos read as zeros (Buffer.alloc).
      buf.copy(this.mem as Buffer, pos, 0, len);
      this.memSize = Math.max(this.memSize, end);
    } else {
      const fd = (await this.toFile()).fd;
      let done = 0;
      while (done < len) done += writeSync(fd, buf, done, len - done, pos + done);
    }
    if (sequential && this.hash) {
      this.writtenTo = pos + len;
      if (this.writtenTo - this.hashedTo > MAX_HASH_LAG) this.catchUp(Number.POSITIVE_INFINITY);
      this.scheduleCatchUp();
    }
  }

  async read(buf: Buffer, len: number, pos: number): Promise<number> {
    if (this.mem) {
      if (pos >= this.memSize) return 0;
      return this.mem.copy(buf, 0, pos, Math.min(this.memSize, pos + len));
    }
    const fh = await this.toFile();
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async truncate(size: number): Promise<void> {
    if (size !== this.writtenTo) this.hash = undefined;
    const mem = this.mem;
    if (mem && size <= MEMORY_LIMIT) {
      if (size > mem.length) this.mem = grow(mem, this.memSize, size);
      else if (size < this.memSize) mem.fill(0, size, this.memSize); // regrowth must read zeros
      this.memSize = size;
      return;
    }
    await (await this.toFile()).truncate(size);
  }

  /** The first `size` bytes (the file's logical size) as bytes to store. */
  source(size: number): PutSource {
    return {
      size,
      stream: () => this.stream(size),
      md5: () => this.md5(size),
      file: () => this.lendFile(size),
    };
  }

  /**
   * Whether the spool file was offered to a commit as the blob itself: after that commit
   * succeeds the file belongs to the store and the spool must be given up (forget()).
   */
  get lent(): boolean {
    return this.lentFile;
  }

  /** After a commit that may have adopted the file: drop the spool's name for it, never write to it again. */
  async forget(): Promise<void> {
    this.lentFile = false;
    await this.destroy();
  }

  /** A commit that failed did not keep the file: the spool stays usable. */
  unlend(): void {
    this.lentFile = false;
  }

  async destroy(): Promise<void> {
    this.hash = undefined;
    this.mem = undefined;
    const f = this.file;
    if (!f) return;
    await f.fh.close().catch(() => undefined);
    await rm(f.path, { force: true });
  }

  private stream(size: number): Readable {
    if (this.mem) return Readable.from(size > 0 ? [Buffer.from(this.mem.subarray(0, size))] : []);
    if (!this.file || size === 0) return Readable.from([]);
    // A separate descriptor: the commit streams while the file handle stays usable.
    return createReadStream(this.file.path, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 });
  }

  private async lendFile(size: number): Promise<{ path: string; md5: string } | undefined> {
    if (!this.file || size === 0) return undefined;
    // The file is the bytes only when it holds exactly the logical size.
    if ((await this.file.fh.stat()).size !== size) return undefined;
    const md5 = await this.md5(size);
    this.lentFile = true;
    return { path: this.file.path, md5 };
  }

  private async md5(size: number): Promise<string> {
    if (this.hash && this.writtenTo === size) {
      this.catchUp(Number.POSITIVE_INFINITY);
      if (this.hash) return this.hash.copy().digest('hex');
    }
    const h = createHash('md5');
    for await (const chunk of this.stream(size)) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  /** Hashes up to `budget` of the written, unhashed bytes. */
  private catchUp(budget: number): void {
    while (this.hash && this.hashedTo < this.writtenTo && budget > 0) {
      const n = Math.min(HASH_SLICE, this.writtenTo - this.hashedTo, budget);
      if (this.mem) {
        if (this.hashedTo + n > this.memSize) break; // cannot happen: writtenTo counts stored bytes only
        this.hash.update(this.mem.subarray(this.hashedTo, this.hashedTo + n));
      } else if (this.file) {
        hashScratch ??= Buffer.allocUnsafe(HASH_SLICE);
        const got = readSync(this.file.fh.fd, hashScratch, 0, n, this.hashedTo);
        if (got !== n) {
          this.hash = undefined; // cannot happen while we own the file; hash at commit then
          return;
        }
        this.hash.update(hashScratch.subarray(0, n));
      } else {
        return;
      }
      this.hashedTo += n;
      budget -= n;
    }
  }

  /** Hashes the trailing bytes one slice per turn of the event loop, after the write was answered. */
  private scheduleCatchUp(): void {
    if (this.catchUpScheduled) return;
    this.catchUpScheduled = true;
    setImmediate(() => {
      this.catchUpScheduled = false;
      this.catchUp(HASH_SLICE);
      if (this.hash && this.hashedTo < this.writtenTo) this.scheduleCatchUp();
    });
  }

  private async toFile(): Promise<FileHandle> {
    if (this.file) return this.file.fh;
    const path = join(this.dir, `${Date.now().toString(36)}-${(counter++).toString(36)}`);
    const fh = await open(path, 'w+', 0o600);
    this.file = { path, fh };
    const mem = this.mem;
    this.mem = undefined;
    // Synchronously, like every spool write: no turn of the event loop (a trailing hash)
    // may find the bytes neither in memory nor in the file.
    for (let done = 0; mem && done < this.memSize; ) done += writeSync(fh.fd, mem, done, this.memSize - done, done);
    return fh;
  }
}

/** A larger zero-filled buffer holding the first `used` bytes of `buf`. */
function grow(buf: Buffer, used: number, need: number): Buffer {
  const next = Buffer.alloc(Math.min(MEMORY_LIMIT, Math.max(need, buf.length * 2, 4096)));
  buf.copy(next, 0, 0, used);
  return next;
}

/** Makes this process's spool directory and removes those of processes that are gone. */
export async function prepareSpoolDir(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
  }
  const dir = join(root, String(process.pid));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
