/**
 * The write spool: a local temp file per file open for writing, so random writes,
 * truncates and re-reads behave as on a disk; it becomes ONE object on commit.
 * Spool files live under <spool root>/<pid>/; directories of dead processes are
 * removed on the next mount.
 */
import { type Hash, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { PutSource } from './backend.ts';

let counter = 0;

export class Spool {
  readonly path: string;
  private readonly fh: FileHandle;
  /**
   * MD5 of bytes [0, hashedTo) while the file is written front to back (cp, dd, a
   * download), so a remote PUT has its ETag without re-reading the spool.
   */
  private hash: Hash | undefined;
  private hashedTo = 0;

  private constructor(path: string, fh: FileHandle, hashWrites: boolean) {
    this.path = path;
    this.fh = fh;
    this.hash = hashWrites ? createHash('md5') : undefined;
  }

  static async create(dir: string, opts: { hashWrites?: boolean } = {}): Promise<Spool> {
    const path = join(dir, `${Date.now().toString(36)}-${(counter++).toString(36)}`);
    return new Spool(path, await open(path, 'w+', 0o600), opts.hashWrites === true);
  }

  async write(buf: Buffer, len: number, pos: number): Promise<void> {
    if (this.hash) {
      if (pos === this.hashedTo) {
        this.hash.update(buf.subarray(0, len));
        this.hashedTo += len;
      } else {
        this.hash = undefined; // random write: hash the file at commit
      }
    }
    let done = 0;
    while (done < len) {
      const { bytesWritten } = await this.fh.write(buf, done, len - done, pos + done);
      done += bytesWritten;
    }
  }

  async read(buf: Buffer, len: number, pos: number): Promise<number> {
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(buf, done, len - done, pos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  truncate(size: number): Promise<void> {
    if (size !== this.hashedTo) this.hash = undefined;
    return this.fh.truncate(size);
  }

  /** The first `size` bytes (the file's logical size) as bytes to store. */
  source(size: number): PutSource {
    return {
      size,
      stream: () => this.stream(),
      md5: () => this.md5(size),
    };
  }

  private async md5(size: number): Promise<string> {
    if (this.hash && this.hashedTo === size) return this.hash.copy().digest('hex');
    const h = createHash('md5');
    if (size > 0) for await (const chunk of createReadStream(this.path, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  /** The whole spool as a stream, for the commit (a separate descriptor). */
  stream(): Readable {
    return createReadStream(this.path, { highWaterMark: 1024 * 1024 });
  }

  async destroy(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
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
