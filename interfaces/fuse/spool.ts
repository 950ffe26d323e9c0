/**
 * The write spool: a local temp file per file open for writing, so random writes,
 * truncates and re-reads behave as on a disk; it becomes ONE object on commit.
 * Spool files live under <spool root>/<pid>/; directories of dead processes are
 * removed on the next mount.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

let counter = 0;

export class Spool {
  readonly path: string;
  private readonly fh: FileHandle;

  private constructor(path: string, fh: FileHandle) {
    this.path = path;
    this.fh = fh;
  }

  static async create(dir: string): Promise<Spool> {
    const path = join(dir, `${Date.now().toString(36)}-${(counter++).toString(36)}`);
    return new Spool(path, await open(path, 'w+', 0o600));
  }

  async write(buf: Buffer, len: number, pos: number): Promise<void> {
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
    return this.fh.truncate(size);
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
