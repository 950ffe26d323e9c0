/**
 * Lets the kernel cache names and attributes (positive entry/attr timeouts) and still see
 * every change made elsewhere at once: for each change the mount hears of, the kernel's
 * entry for that path is dropped with a FUSE_NOTIFY_INVAL_ENTRY message written to the
 * mount's /dev/fuse descriptor — what libfuse's fuse_lowlevel_notify_inval_entry does,
 * which fuse-native (libfuse 2 high-level API) does not expose. The next access then
 * asks us again (LOOKUP), with fresh attributes.
 *
 * The message needs the parent directory's kernel node id. Without `use_ino` the
 * high-level libfuse reports that node id as st_ino, so an lstat of the parent through the
 * mount (from the thread pool: our own event loop answers any lookup it causes) gives it.
 *
 * File contents are cached too (`kernel_cache`: the page cache outlives a close, so a
 * re-read costs no FUSE round trip). A file opened through the mount may keep pages for
 * as long as the kernel keeps its inode, so a change to it also sends
 * FUSE_NOTIFY_INVAL_INODE for its node id (again from an lstat): dropping the entry alone
 * would leave the pages of an inode that another open still holds, and a same-size
 * overwrite does not make the kernel drop them by itself.
 *
 * Only paths the kernel may hold are touched: those whose getattr we answered within the
 * timeout window (the kernel keeps a positive entry at most that long after our answer),
 * and files opened through the mount (their pages have no timeout).
 * Writes are one at a time and the caller waits at most MAX_WAIT_MS: an invalidation
 * blocks while a FUSE request of this mount holds the directory's lock, and that request
 * may itself be waiting for the commit that waits for us. The mount's own changes are not
 * reported here at all (the kernel learns of them from the operation itself).
 */
import { readdirSync, readlinkSync, write } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { MountChange } from './backend.ts';
import { type PathMap, parentPath } from './paths.ts';

const FUSE_NOTIFY_INVAL_INODE = 2;
const FUSE_NOTIFY_INVAL_ENTRY = 3;
const FUSE_ROOT_ID = 1n;
const OUT_HEADER_BYTES = 16; // struct fuse_out_header: len u32, error i32, unique u64
const INVAL_ENTRY_BYTES = 16; // struct fuse_notify_inval_entry_out: parent u64, namelen u32, flags u32
const INVAL_INODE_BYTES = 24; // struct fuse_notify_inval_inode_out: ino u64, off i64, len i64 (0 = to the end)
/** The longest a change waits for the kernel (see the header comment). */
const MAX_WAIT_MS = 100;
/** An answer this recent may still be on its way into the kernel: invalidate again later. */
const IN_FLIGHT_MS = 20;
/** Paths remembered at most; past it the kernel's whole cache is dropped (memory stays flat on huge walks). */
const MAX_SEEN = 200_000;
/** Files remembered as possibly holding pages; past it, likewise. */
const MAX_OPENED = 100_000;

/** The descriptors of this process open on /dev/fuse (diff before/after mounting to find a mount's). */
export function fuseDeviceFds(): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) if (isFuseDevice(Number(fd))) out.add(Number(fd));
  return out;
}

/** Does the store still have something at this mount path? (A removal may take implicit parents with it.) */
export type ExistsCheck = (path: string) => Promise<boolean>;

export class KernelCache {
  /** Mount path → when we last answered a lookup/getattr for it (ms); oldest first. */
  private readonly seen = new Map<string, number>();
  /** Files opened through the mount: the kernel may hold their pages (no timeout). */
  private readonly opened = new Set<string>();
  private readonly windowMs: number;
  private queue: Promise<void> = Promise.resolve();
  private disabled = false;
  private answers = 0;

  constructor(
    private readonly mountpoint: string,
    private readonly fd: number,
    /** The larger of the entry and attr timeouts, seconds. */
    timeoutSeconds: number,
    private readonly log: (msg: string) => void,
  ) {
    // Slack for the time between our answer and the kernel storing it.
    this.windowMs = timeoutSeconds * 1000 + 1000;
  }

  /** We answered a getattr for `path`: the kernel may keep it until the timeout. */
  answered(path: string): void {
    this.seen.delete(path);
    this.seen.set(path, Date.now());
    if ((++this.answers & 1023) === 0) this.prune();
  }

  /** `path` was opened (or created) through the mount: its pages may stay cached. */
  fileOpened(path: string): void {
    if (this.opened.has(path)) return;
    this.opened.add(path);
    if (this.opened.size > MAX_OPENED) this.dropAll();
  }

  /** The mount renamed `from` to `to`: the kernel moved its inodes (and their pages) along. */
  renamed(from: string, to: string): void {
    const prefix = `${from}/`;
    for (const p of [...this.opened]) {
      if (p !== from && !p.startsWith(prefix)) continue;
      this.opened.delete(p);
      this.opened.add(to + p.slice(from.length));
    }
  }

  /**
   * Drops the kernel's entries that these changes made wrong; resolves when done or after
   * MAX_WAIT_MS. A removal also drops each parent directory that went with it.
   */
  async onChanges(paths: PathMap, changes: readonly MountChange[], exists: ExistsCheck): Promise<void> {
    if (this.disabled) return;
    const targets: Array<{ path: string; removal: boolean }> = [];
    for (const c of changes) {
      if (c.kind === 'all') {
        for (const p of this.topLevel()) targets.push({ path: p, removal: true });
      } else {
        const p = paths.pathOfChange(c);
        if (p !== undefined && p !== '/') targets.push({ path: p, removal: c.deleted });
      }
    }
    const relevant = targets.filter((t) => this.mayBeCached(t.path) || (t.removal && this.mayBeCached(parentPath(t.path) ?? '/')));
    if (relevant.length === 0) return;
    const job = this.enqueue(async () => {
      for (const t of relevant) await this.invalidateWithParents(t.path, t.removal, exists);
    });
    await Promise.race([job, new Promise<void>((r) => setTimeout(r, MAX_WAIT_MS).unref())]);
    // A getattr answered just before the change may reach the kernel after our message.
    const now = Date.now();
    const late = relevant.filter((t) => now - (this.seen.get(t.path) ?? 0) < IN_FLIGHT_MS);
    if (late.length > 0) {
      setTimeout(() => void this.enqueue(async () => {
        for (const t of late) await this.invalidate(t.path);
      }), IN_FLIGHT_MS).unref();
    }
  }

  private mayBeCached(path: string): boolean {
    if (this.opened.has(path)) return true;
    const at = this.seen.get(path);
    return at !== undefined && Date.now() - at <= this.windowMs;
  }

  /** The top-level entries of every path the kernel may hold (dropping them drops all below). */
  private topLevel(): Set<string> {
    const top = new Set<string>();
    for (const p of [...this.seen.keys(), ...this.opened]) {
      const slash = p.indexOf('/', 1);
      top.add(slash < 0 ? p : p.slice(0, slash));
    }
    top.delete('/');
    return top;
  }

  private async invalidateWithParents(path: string, removal: boolean, exists: ExistsCheck): Promise<void> {
    if (this.mayBeCached(path)) await this.invalidate(path);
    if (!removal) return;
    // Stop at the first parent that is still there: everything above it is too.
    for (let p = parentPath(path); p !== undefined && p !== '/'; p = parentPath(p)) {
      if (!this.mayBeCached(p) || (await exists(p))) return;
      await this.invalidate(p);
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * FUSE_NOTIFY_INVAL_INODE for an opened file's pages, then FUSE_NOTIFY_INVAL_ENTRY for
   * `path`; a kernel that does not hold them answers ENOENT.
   */
  private async invalidate(path: string): Promise<void> {
    const parent = parentPath(path);
    if (parent === undefined || this.disabled) return;
    if (this.opened.delete(path)) {
      // The node id the kernel holds for it (an expired entry is looked up again, and
      // libfuse answers with the same node while the kernel keeps the inode).
      const ino = await this.nodeId(path);
      if (ino !== undefined) await this.send(path, notification(FUSE_NOTIFY_INVAL_INODE, INVAL_INODE_BYTES, (m, at) => m.writeBigUInt64LE(ino, at)));
    }
    let parentId = FUSE_ROOT_ID;
    if (parent !== '/') {
      const id = await this.nodeId(parent);
      if (id === undefined) return; // the parent is gone: its own entry is invalidated as a removal
      parentId = id;
    }
    const name = Buffer.from(path.slice(parent === '/' ? 1 : parent.length + 1), 'utf8');
    this.seen.delete(path);
    const msg = notification(FUSE_NOTIFY_INVAL_ENTRY, INVAL_ENTRY_BYTES + name.length + 1, (m, at) => {
      m.writeBigUInt64LE(parentId, at);
      m.writeUInt32LE(name.length, at + 8);
      name.copy(m, at + INVAL_ENTRY_BYTES); // NUL-terminated: the byte after stays 0
    });
    await this.send(path, msg);
  }

  /** The kernel node id of a mount path: without `use_ino` libfuse reports it as st_ino. */
  private async nodeId(path: string): Promise<bigint | undefined> {
    try {
      return (await lstat(this.mountpoint + path, { bigint: true })).ino;
    } catch {
      return undefined;
    }
  }

  private async send(path: string, msg: Buffer): Promise<void> {
    // A descriptor number is reused once closed (the mount may have been taken down from
    // outside): never write a FUSE message into whatever file got it.
    if (this.disabled || !isFuseDevice(this.fd)) {
      this.disabled = true;
      return;
    }
    await new Promise<void>((resolve) => {
      write(this.fd, msg, 0, msg.length, null, (err) => {
        const code = (err as NodeJS.ErrnoException | null)?.code;
        if (code === 'EBADF' || code === 'ENODEV') this.disabled = true; // unmounted
        else if (err && code !== 'ENOENT') this.log(`kernel cache invalidation of ${path} failed: ${err.message}`);
        resolve();
      });
    });
  }

  /** Stops all kernel writes; call before unmounting (the descriptor closes then). */
  async close(): Promise<void> {
    this.disabled = true;
    await this.queue;
  }

  private prune(): void {
    const cutoff = Date.now() - this.windowMs;
    for (const [p, at] of this.seen) {
      if (at > cutoff) break; // oldest first
      this.seen.delete(p);
    }
    if (this.seen.size > MAX_SEEN) this.dropAll();
  }

  /**
   * Forgetting a path the kernel may hold would leave it stale: drop the top-level entries
   * instead (the kernel prunes everything below them, and an inode no longer held by a
   * name or an open file goes with its pages) and start over.
   */
  private dropAll(): void {
    const top = this.topLevel();
    this.seen.clear();
    this.opened.clear();
    void this.enqueue(async () => {
      for (const p of top) await this.invalidate(p);
    });
  }
}

/** A FUSE notification: out header (error = the notify code, unique = 0), then its body. */
function notification(code: number, bodyBytes: number, fill: (msg: Buffer, at: number) => void): Buffer {
  const msg = Buffer.alloc(OUT_HEADER_BYTES + bodyBytes);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeInt32LE(code, 4);
  fill(msg, OUT_HEADER_BYTES);
  return msg;
}

function isFuseDevice(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/fuse';
  } catch {
    return false;
  }
}

