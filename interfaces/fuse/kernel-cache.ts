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
 * Only paths the kernel may hold are touched: those whose getattr we answered within the
 * timeout window (the kernel keeps a positive entry at most that long after our answer).
 * Writes are one at a time and the caller waits at most MAX_WAIT_MS: an invalidation
 * blocks while a FUSE request of this mount holds the directory's lock, and that request
 * may itself be waiting for the commit that waits for us. The mount's own changes are not
 * reported here at all (the kernel learns of them from the operation itself).
 */
import { readdirSync, readlinkSync, write } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { MountChange } from './backend.ts';
import { type PathMap, parentPath } from './paths.ts';

const FUSE_NOTIFY_INVAL_ENTRY = 3;
const FUSE_ROOT_ID = 1n;
const OUT_HEADER_BYTES = 16; // struct fuse_out_header: len u32, error i32, unique u64
const INVAL_ENTRY_BYTES = 16; // struct fuse_notify_inval_entry_out: parent u64, namelen u32, flags u32
/** The longest a change waits for the kernel (see the header comment). */
const MAX_WAIT_MS = 100;
/** An answer this recent may still be on its way into the kernel: invalidate again later. */
const IN_FLIGHT_MS = 20;
/** Paths remembered at most; past it the kernel's whole cache is dropped (memory stays flat on huge walks). */
const MAX_SEEN = 200_000;

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

  /**
   * Drops the kernel's entries that these changes made wrong; resolves when done or after
   * MAX_WAIT_MS. A removal also drops each parent directory that went with it.
   */
  async onChanges(paths: PathMap, changes: readonly MountChange[], exists: ExistsCheck): Promise<void> {
    if (this.disabled) return;
    const targets: Array<{ path: string; removal: boolean }> = [];
    for (const c of changes) {
      if (c.kind === 'all') {
        for (const p of this.seen.keys()) if (parentPath(p) === '/') targets.push({ path: p, removal: true });
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
    const at = this.seen.get(path);
    return at !== undefined && Date.now() - at <= this.windowMs;
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

  /** One FUSE_NOTIFY_INVAL_ENTRY for `path`; a kernel that does not hold it answers ENOENT. */
  private async invalidate(path: string): Promise<void> {
    const parent = parentPath(path);
    if (parent === undefined || this.disabled) return;
    let parentId = FUSE_ROOT_ID;
    if (parent !== '/') {
      try {
        parentId = (await lstat(this.mountpoint + parent, { bigint: true })).ino;
      } catch {
        return; // the parent is gone: its own entry is invalidated as a removal
      }
    }
    const name = Buffer.from(path.slice(parent === '/' ? 1 : parent.length + 1), 'utf8');
    const msg = Buffer.alloc(OUT_HEADER_BYTES + INVAL_ENTRY_BYTES + name.length + 1);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeInt32LE(FUSE_NOTIFY_INVAL_ENTRY, 4); // a notification: error = code, unique = 0
    msg.writeBigUInt64LE(parentId, OUT_HEADER_BYTES);
    msg.writeUInt32LE(name.length, OUT_HEADER_BYTES + 8);
    name.copy(msg, OUT_HEADER_BYTES + INVAL_ENTRY_BYTES); // NUL-terminated: the byte after stays 0
    this.seen.delete(path);
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
    if (this.seen.size <= MAX_SEEN) return;
    // Forgetting a path the kernel may hold would leave it stale: drop the top-level
    // entries instead (the kernel prunes everything below them) and start over.
    const top = [...this.seen.keys()].filter((p) => parentPath(p) === '/');
    this.seen.clear();
    void this.enqueue(async () => {
      for (const p of top) await this.invalidate(p);
    });
  }
}

function isFuseDevice(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/fuse';
  } catch {
    return false;
  }
}

