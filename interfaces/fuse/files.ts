/**
 * Open files. Reads of an unmodified file stream ranges of the object; a file open for
 * writing gets a local spool only when its bytes change (O_TRUNC or a new file start
 * empty, anything else copies the object in first), and the spool becomes ONE object on
 * flush/fsync/release. A failed commit is the return value of close(2), never a silent
 * loss. All handles of one path share one OpenFile, so they see each other's writes.
 * As on a disk filesystem, close(2) commits without waiting for durability (the store
 * makes it durable within a second) and fsync(2) waits for it.
 */
import { lookup as mimeLookup } from 'mime-types';
import type { Metadata } from '../../src/core/types.ts';
import { type NodeInfo, isMarker, metaMtime, mtimeMeta } from './attrs.ts';
import type { FileReader, MountBackend, StoreObject } from './backend.ts';
import { Errno, fsError } from './errno.ts';
import { type EntryTarget, type PathMap } from './paths.ts';
import { Spool } from './spool.ts';

const O_ACCMODE = 0o3;
const O_RDONLY = 0o0;
const O_TRUNC = 0o1000;

class OpenFile {
  path: string;
  target: EntryTarget;
  /** The object this file started from, then the last committed version. */
  base: StoreObject | undefined;
  spool: Spool | undefined;
  size: number;
  dirty = false;
  /** write(2) happened through this open file (truncates do not count). */
  written = false;
  /** Unlinked or renamed over while open: its bytes must not reappear. */
  detached = false;
  mtimeMs: number;
  /** mode/uid/gid/mtime changed while open; kept across commits. */
  pending: Metadata = {};
  handles = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(path: string, target: EntryTarget, base: StoreObject | undefined) {
    this.path = path;
    this.target = target;
    this.base = base;
    this.size = base?.size ?? 0;
    this.mtimeMs = base ? (metaMtime(base.meta) ?? base.timestampMs) : Date.now();
  }

  /** Writes, truncates and commits of one file run one at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

interface Handle {
  path: string;
  /** Set for handles open for writing. */
  file?: OpenFile;
  reader?: FileReader;
}

export class OpenFiles {
  private readonly store: MountBackend;
  private readonly paths: PathMap;
  private readonly spoolDir: string;
  private readonly byPath = new Map<string, OpenFile>();
  private readonly handles = new Map<number, Handle>();
  private nextFh = 1;

  constructor(store: MountBackend, paths: PathMap, spoolDir: string) {
    this.store = store;
    this.paths = paths;
    this.spoolDir = spoolDir;
  }

  get openCount(): number {
    return this.handles.size;
  }

  async open(path: string, flags: number): Promise<number> {
    const target = this.paths.entry(path, 'open');
    if ((flags & O_ACCMODE) === O_RDONLY) {
      if (this.byPath.has(path)) return this.addHandle({ path });
      const rec = await this.requireFile(target);
      return this.addHandle({ path, reader: this.store.openReader(target.container, rec) });
    }
    let file = this.byPath.get(path);
    if (!file) {
      file = new OpenFile(path, target, await this.requireFile(target));
      this.byPath.set(path, file);
    }
    file.handles++;
    const fh = this.addHandle({ path, file });
    if (flags & O_TRUNC) {
      const f = file;
      await f.exclusive(() => this.truncateFile(f, 0));
    }
    return fh;
  }

  async create(path: string, meta: Metadata): Promise<number> {
    const target = this.paths.entry(path, 'create');
    const old = this.byPath.get(path);
    if (old) old.detached = true;
    const file = new OpenFile(path, target, undefined);
    file.spool = Spool.create(this.spoolDir, { hashWrites: true });
    file.dirty = true; // an empty new file is committed too (touch)
    file.pending = { ...meta };
    file.handles = 1;
    this.byPath.set(path, file);
    return this.addHandle({ path, file });
  }

  async read(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.handle(fh);
    const file = h.file ?? this.byPath.get(h.path);
    const spool = file?.spool;
    if (file && spool) {
      return file.exclusive(() => (pos >= file.size ? Promise.resolve(0) : spool.read(buf, Math.min(len, file.size - pos), pos)));
    }
    if (!h.reader) {
      const target = this.paths.entry(h.path, 'read');
      h.reader = this.store.openReader(target.container, file?.base ?? (await this.requireFile(target)));
    }
    return h.reader.read(buf, len, pos);
  }

  async write(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const file = this.handle(fh).file;
    if (!file) throw fsError(Errno.EBADF, 'file not open for writing');
    return file.exclusive(async () => {
      const spool = file.spool ?? (await this.fillSpool(file, true));
      await spool.write(buf, len, pos);
      file.size = Math.max(file.size, pos + len);
      file.written = true;
      this.touched(file);
      return len;
    });
  }

  /** close(2) and fsync(2): commit if there is something to commit. */
  async flush(fh: number): Promise<void> {
    const file = this.handle(fh).file;
    // A shell's `>` dups the descriptor and closes the original before writing: a file
    // that is empty and unwritten so far (new, or O_TRUNC) is committed on release
    // instead, not once empty and again with its bytes.
    if (file?.dirty && !(file.size === 0 && !file.written)) await file.exclusive(() => this.commit(file));
  }

  /** fsync(2): commit whatever is dirty, and make it (and any earlier close) durable. */
  async fsync(fh: number): Promise<void> {
    const file = this.handle(fh).file;
    if (file?.dirty) await file.exclusive(() => this.commit(file, true));
    else await this.store.sync();
  }

  async release(fh: number): Promise<void> {
    const h = this.handles.get(fh);
    if (!h) return;
    this.handles.delete(fh);
    h.reader?.close();
    const file = h.file;
    if (!file || --file.handles > 0) return;
    // The kernel sends release after close(2) has returned: until the commit is done the
    // file must stay visible here, or a quick unlink/stat would miss it.
    await file.exclusive(async () => {
      try {
        if (file.dirty) await this.commit(file);
      } finally {
        if (file.handles === 0) {
          if (this.byPath.get(file.path) === file) this.byPath.delete(file.path);
          await file.spool?.destroy();
          file.spool = undefined;
        }
      }
    });
  }

  /** Waits for a commit in flight on `path` (a release may still be saving it). */
  async settle(path: string): Promise<void> {
    const f = this.byPath.get(path);
    if (f) await f.exclusive(() => Promise.resolve());
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    const file = this.handle(fh).file;
    if (!file) throw fsError(Errno.EBADF, 'file not open for writing');
    await file.exclusive(() => this.truncateFile(file, size));
  }

  /** truncate(2) by path: through the open file if there is one, else a one-off commit. */
  async truncate(path: string, size: number): Promise<void> {
    const open = this.byPath.get(path);
    if (open) return open.exclusive(() => this.truncateFile(open, size));
    const target = this.paths.entry(path, 'truncate');
    const rec = await this.requireFile(target);
    if (rec.size === size) return;
    const file = new OpenFile(path, target, rec);
    try {
      await this.truncateFile(file, size);
      await this.commit(file);
    } finally {
      await file.spool?.destroy();
    }
  }

  /** Attributes of a file whose newest bytes are still local. */
  info(path: string): NodeInfo | undefined {
    const f = this.byPath.get(path);
    if (!f || (!f.dirty && !f.spool)) return undefined;
    const meta = { ...(f.base?.meta ?? {}), ...f.pending };
    return { kind: 'file', size: f.size, mtimeMs: f.mtimeMs, ctimeMs: f.mtimeMs, meta };
  }

  /** Names of files created under `dir` (a FUSE path) and not committed yet. */
  uncommittedIn(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const out: string[] = [];
    for (const [p, f] of this.byPath) {
      if (!f.base && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    }
    return out;
  }

  /**
   * Remembers metadata set on an open file so the next commit keeps it. Returns true
   * when the file has uncommitted bytes (the commit will carry it; nothing to store now).
   */
  stashMeta(path: string, set: Metadata): boolean {
    const f = this.byPath.get(path);
    if (!f) return false;
    Object.assign(f.pending, set);
    const m = metaMtime(set);
    if (m !== undefined) f.mtimeMs = m;
    return f.dirty;
  }

  /** Commits `path` before a rename, so the rename moves the newest bytes. */
  async commitPending(path: string): Promise<void> {
    const f = this.byPath.get(path);
    if (f?.dirty) await f.exclusive(() => this.commit(f));
  }

  /** Is there an open, never committed file at `path`? */
  isUncommitted(path: string): boolean {
    const f = this.byPath.get(path);
    return f !== undefined && f.base === undefined;
  }

  forget(path: string): void {
    const f = this.byPath.get(path);
    if (!f) return;
    f.detached = true;
    this.byPath.delete(path);
  }

  /** Open files follow a rename of themselves or of a directory above them. */
  renamed(from: string, to: string): void {
    this.forget(to);
    const moves: Array<[string, OpenFile]> = [];
    for (const [p, f] of this.byPath) {
      if (p === from) moves.push([to, f]);
      else if (p.startsWith(`${from}/`)) moves.push([to + p.slice(from.length), f]);
    }
    for (const [newPath, f] of moves) {
      this.byPath.delete(f.path);
      f.path = newPath;
      f.target = this.paths.entry(newPath, 'rename');
      this.byPath.set(newPath, f);
    }
  }

  /** At unmount: commit what is still dirty (best effort), drop every spool. */
  async closeAll(log: (msg: string) => void): Promise<void> {
    for (const fh of [...this.handles.keys()]) {
      const path = this.handles.get(fh)?.path;
      await this.release(fh).catch((err: Error) => log(`unmount: ${path} not saved: ${err.message}`));
    }
  }

  // ------------------------------------------------------------------ helpers

  private addHandle(h: Handle): number {
    while (this.handles.has(this.nextFh) || this.nextFh === 0) this.nextFh = (this.nextFh + 1) >>> 0;
    const fh = this.nextFh;
    this.nextFh = (this.nextFh + 1) >>> 0;
    this.handles.set(fh, h);
    return fh;
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw fsError(Errno.EBADF, `no open file ${fh}`);
    return h;
  }

  private async requireFile(t: EntryTarget): Promise<StoreObject> {
    const obj = await this.store.getObject(t.container, t.key);
    if (obj && !isMarker(obj)) return obj;
    if (obj || (await this.store.stat(t.container, t.key))?.kind === 'dir') throw fsError(Errno.EISDIR, `${t.key} is a directory`);
    throw fsError(Errno.ENOENT, `${t.key} not found`);
  }

  /** Creates the spool; copies the object's bytes in only when they are kept. */
  private async fillSpool(file: OpenFile, keepBytes: boolean): Promise<Spool> {
    const spool = Spool.create(this.spoolDir, { hashWrites: true });
    try {
      let size = 0;
      if (keepBytes && file.base && file.base.size > 0) {
        const stream = await this.store.openStream(file.target.container, file.base);
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          await spool.write(chunk, chunk.length, size);
          size += chunk.length;
        }
      }
      file.size = size;
      file.spool = spool;
      return spool;
    } catch (err) {
      await spool.destroy();
      throw err;
    }
  }

  private async truncateFile(file: OpenFile, size: number): Promise<void> {
    const spool = file.spool ?? (await this.fillSpool(file, size > 0));
    await spool.truncate(size);
    file.size = size;
    this.touched(file);
  }

  private touched(file: OpenFile): void {
    file.dirty = true;
    file.mtimeMs = Date.now();
    delete file.pending.mtime; // a write after utimens moves mtime on, as on a disk
  }

  private async commit(file: OpenFile, durable = false): Promise<void> {
    if (!file.dirty) return;
    if (file.detached) {
      file.dirty = false;
      return;
    }
    const spool = file.spool ?? (await this.fillSpool(file, true));
    const { container, key } = file.target;
    const base = file.base;
    const meta: Metadata = { ...(base?.meta ?? {}), ...file.pending, mtime: mtimeMeta(file.mtimeMs) };
    const contentType = base?.contentType ?? (mimeLookup(key) || 'application/octet-stream');
    try {
      file.base = await this.store.putObject(container, key, spool.source(file.size), {
        contentType,
        meta,
        ...(base ? { headers: base.headers } : {}),
        durable,
      });
    } catch (err) {
      spool.unlend();
      throw err;
    }
    file.dirty = false;
    if (spool.lent) {
      // The spool file may now be the object's blob: later writes start a new spool from
      // the committed object instead of changing it.
      file.spool = undefined;
      await spool.forget();
      // Readers opened on an older version re-open on the committed one.
      for (const h of this.handles.values()) {
        if (h.path === file.path && h.reader) {
          h.reader.close();
          delete h.reader;
        }
      }
    }
  }
}
