/**
 * The POSIX view of one account (or one container) over a MountBackend: what a path
 * is, directory listings, and every namespace change a syscall makes. Byte I/O of open
 * files is in files.ts. Methods throw (FsError, core or HTTP errors); ops.ts maps to errno.
 */
import { DIRECTORY_CONTENT_TYPE, type Metadata } from '../../src/core/types.ts';
import { type NodeInfo, type Owner, SYMLINK_CONTENT_TYPE, isMarker, metaMtime, mtimeMeta } from './attrs.ts';
import { type MountBackend, bufferSource } from './backend.ts';
import { Errno, fsError } from './errno.ts';
import type { FuseStatfs } from './fuse-native.d.ts';
import type { OpenFiles } from './files.ts';
import type { LookupCache } from './lookup-cache.ts';
import { type EntryTarget, type PathMap, parentKey, parentPath } from './paths.ts';

const PAGE = 1000;
const MAX_LINK = 4096;
const NO_ID = 0xffffffff; // chown's "-1": leave unchanged

export interface FilesystemDeps {
  store: MountBackend;
  paths: PathMap;
  files: OpenFiles;
  cache: LookupCache;
  owner: Owner;
  /**
   * After a readdir, fetch the attributes of up to PREFETCH_MAX entries this many at a
   * time (0: never). Remote mode: `ls -l`/`find` then wait for one round trip per
   * PREFETCH_PARALLEL entries instead of one per entry.
   */
  prefetchParallel?: number;
}

/** Entries of one readdir whose attributes are prefetched (they live one cache TTL). */
const PREFETCH_MAX = 2000;
/** Directories with more entries than this are not listed ahead of lookups. */
const LIST_AHEAD_MAX = 2000;

export class Filesystem {
  private readonly store: MountBackend;
  private readonly paths: PathMap;
  private readonly files: OpenFiles;
  private readonly cache: LookupCache;
  readonly owner: Owner;
  private readonly startedMs = Date.now();
  private readonly prefetchParallel: number;
  /** Directories being listed ahead of lookups (see listAhead). */
  private readonly listingAhead = new Set<string>();
  /** Lookups under way: a second ask for the same path waits for the first. */
  private readonly inflight = new Map<string, { gen: number; node: Promise<NodeInfo | undefined> }>();

  constructor(deps: FilesystemDeps) {
    this.store = deps.store;
    this.paths = deps.paths;
    this.files = deps.files;
    this.cache = deps.cache;
    this.owner = deps.owner;
    this.prefetchParallel = deps.prefetchParallel ?? 0;
  }

  // ------------------------------------------------------------------ lookups

  async lookup(path: string): Promise<NodeInfo | undefined> {
    const open = this.files.info(path);
    if (open) return open;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached ?? undefined;
    if (this.cache.absent(path)) return undefined;
    const gen = this.cache.gen;
    // Only a lookup started after the last change may be shared: an older one can
    // return what that change replaced.
    const running = this.inflight.get(path);
    if (running?.gen === gen) return running.node;
    const node = this.lookupUncached(path).then((n) => {
      this.cache.set(path, n ?? null, gen);
      // A name that is not there is often about to be created, and its neighbours after
      // it: with the directory's listing at hand, those lookups need no store call.
      if (!n) this.listAhead(path);
      return n;
    });
    const entry = { gen, node };
    this.inflight.set(path, entry);
    try {
      return await node;
    } finally {
      if (this.inflight.get(path) === entry) this.inflight.delete(path);
    }
  }

  async require(path: string): Promise<NodeInfo> {
    const node = await this.lookup(path);
    if (!node) throw fsError(Errno.ENOENT, `${path} not found`);
    return node;
  }

  private async lookupUncached(path: string): Promise<NodeInfo | undefined> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account') return { kind: 'dir', size: 0, mtimeMs: this.startedMs, ctimeMs: this.startedMs, meta: {} };
    if (t.kind === 'container') {
      const c = await this.store.getContainer(t.container);
      if (!c) return undefined;
      return { kind: 'dir', size: 0, mtimeMs: metaMtime(c.meta) ?? c.timestampMs, ctimeMs: c.timestampMs, meta: c.meta };
    }
    return this.store.stat(t.container, t.key);
  }

  /** Caches the listing of `path`'s directory in the background (if it is small enough to keep). */
  private listAhead(path: string): void {
    const dir = parentPath(path);
    if (dir === undefined || this.cache.getListing(dir) || !this.cache.listable(dir) || this.listingAhead.has(dir)) return;
    this.listingAhead.add(dir);
    const listing = this.cache.startListing(dir);
    this.listNames(dir, LIST_AHEAD_MAX)
      .then(
        ({ names, complete }) => {
          if (!complete) this.cache.markUnlistable(dir);
          return complete ? names : undefined;
        },
        () => undefined,
      )
      .then((names) => {
        this.cache.finishListing(listing, names);
        this.listingAhead.delete(dir);
      });
  }

  /** The names in a directory, read page by page (only names are kept). */
  async readdir(path: string): Promise<string[]> {
    const cached = this.cache.getListing(path);
    let names: string[];
    if (cached) {
      names = [...cached];
    } else {
      const listing = this.cache.startListing(path);
      let read: string[] | undefined;
      try {
        read = (await this.listNames(path)).names;
      } finally {
        this.cache.finishListing(listing, read);
      }
      names = read;
    }
    const uncommitted = this.files.uncommittedIn(path);
    if (uncommitted.length) {
      const have = new Set(names);
      for (const name of uncommitted) if (!have.has(name)) names.push(name);
    }
    if (!cached && this.prefetchParallel > 0) this.prefetch(path, names.slice(2, 2 + PREFETCH_MAX));
    return names;
  }

  /** '.', '..' and the names in directory `path`, page by page; stops (not complete) past `max` names. */
  private async listNames(path: string, max = Number.POSITIVE_INFINITY): Promise<{ names: string[]; complete: boolean }> {
    const t = this.paths.resolve(path);
    const names = ['.', '..'];
    if (t.kind === 'account') {
      let marker: string | undefined;
      do {
        if (names.length - 2 > max) return { names, complete: false };
        const page = await this.store.listContainers(marker, PAGE);
        names.push(...page.items);
        marker = page.nextMarker;
      } while (marker);
      return { names, complete: names.length - 2 <= max };
    }
    const node = await this.require(path);
    if (node.kind !== 'dir') throw fsError(Errno.ENOTDIR, `${path} is not a directory`);
    const dir = t.kind === 'entry' ? t.key : '';
    const dirsSeen = new Set<string>();
    let marker: string | undefined;
    do {
      if (names.length - 2 > max) return { names, complete: false };
      const page = await this.store.listDir(t.container, dir, marker, PAGE);
      for (const e of page.items) {
        if (e.kind === 'dir') {
          // A marker and objects below it are one directory, even across pages.
          if (dirsSeen.has(e.name)) continue;
          dirsSeen.add(e.name);
        }
        names.push(e.name);
      }
      marker = page.nextMarker;
    } while (marker);
    return { names, complete: names.length - 2 <= max };
  }

  /** Warms the lookup cache for the entries just listed (in the background, errors ignored). */
  private prefetch(dir: string, names: string[]): void {
    const base = dir === '/' ? '' : dir;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const path = `${base}/${names[next++]}`;
        if (this.cache.get(path) === undefined) await this.lookup(path).catch(() => undefined);
      }
    };
    for (let i = 0; i < Math.min(this.prefetchParallel, names.length); i++) void worker();
  }

  // ------------------------------------------------------------- directories

  async mkdir(path: string, mode: number): Promise<void> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account' || (t.kind === 'container' && t.isMountRoot)) throw fsError(Errno.EEXIST, `${path} exists`);
    const meta = { mode: (mode & 0o7777).toString(8) };
    if (t.kind === 'container') {
      if (!(await this.store.createContainer(t.container, meta))) throw fsError(Errno.EEXIST, `${path} exists`);
      return;
    }
    await this.store.makeDirectory(t.container, t.key, meta);
  }

  async rmdir(path: string): Promise<void> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account' || (t.kind === 'container' && t.isMountRoot)) throw fsError(Errno.EBUSY, 'cannot remove the mount root');
    if (t.kind === 'container') return this.store.deleteContainer(t.container);
    const node = await this.require(path);
    if (node.kind !== 'dir') throw fsError(Errno.ENOTDIR, `${path} is not a directory`);
    await this.store.removeDirectory(t.container, t.key);
    await this.keepParent(t);
  }

  // ------------------------------------------------------------------- files

  async unlink(path: string): Promise<void> {
    const t = this.paths.entry(path, 'unlink');
    await this.files.settle(path);
    const obj = await this.store.getObject(t.container, t.key);
    if (!obj || isMarker(obj)) {
      if (!obj && this.files.isUncommitted(path)) return this.files.forget(path);
      if (obj || (await this.lookup(path))?.kind === 'dir') throw fsError(Errno.EISDIR, `${path} is a directory`);
      throw fsError(Errno.ENOENT, `${path} not found`);
    }
    this.files.forget(path);
    await this.store.deleteObject(t.container, t.key);
    await this.keepParent(t);
  }

  /**
   * Renames inside a container (local mode: metadata-only and atomic; remote mode: copy
   * and delete per object); anything else is EXDEV (mv copies).
   */
  async rename(from: string, to: string): Promise<void> {
    const src = this.paths.resolve(from);
    const dst = this.paths.resolve(to);
    if (src.kind === 'account' || dst.kind === 'account' || (src.kind === 'container' && src.isMountRoot)) throw fsError(Errno.EBUSY, 'cannot rename the mount root');
    if (src.kind !== 'entry' || dst.kind !== 'entry' || src.container !== dst.container) throw fsError(Errno.EXDEV, 'rename across containers');
    await this.files.commitPending(from);
    const node = await this.require(from);
    const existing = await this.lookup(to);
    if (node.kind === 'dir') {
      if (existing && existing.kind !== 'dir') throw fsError(Errno.ENOTDIR, `${to} is not a directory`);
      if (existing) await this.store.removeDirectory(dst.container, dst.key); // only if empty, as rename(2)
      await this.store.renameDirectory(src.container, src.key, dst.key);
    } else {
      if (existing?.kind === 'dir') throw fsError(Errno.EISDIR, `${to} is a directory`);
      await this.store.renameObject(src.container, src.key, dst.key);
    }
    this.files.renamed(from, to);
    await this.keepParent(src);
  }

  async symlink(target: string, path: string): Promise<void> {
    const t = this.paths.entry(path, 'symlink');
    const bytes = Buffer.from(target, 'utf8');
    if (bytes.length > MAX_LINK) throw fsError(Errno.ENAMETOOLONG, 'symlink target too long');
    await this.store.putObject(t.container, t.key, bufferSource(bytes), { contentType: SYMLINK_CONTENT_TYPE, meta: { mtime: mtimeMeta(Date.now()) } });
  }

  async readlink(path: string): Promise<string> {
    const t = this.paths.entry(path, 'readlink');
    const obj = await this.store.getObject(t.container, t.key);
    if (!obj) throw fsError(Errno.ENOENT, `${path} not found`);
    if (obj.contentType !== SYMLINK_CONTENT_TYPE || obj.size > MAX_LINK) throw fsError(Errno.EINVAL, `${path} is not a symlink`);
    const chunks: Buffer[] = [];
    for await (const c of (await this.store.openStream(t.container, obj)) as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  // --------------------------------------------------------------- attributes

  chmod(path: string, mode: number): Promise<void> {
    return this.setMeta(path, { mode: (mode & 0o7777).toString(8) });
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    const set: Metadata = {};
    if (uid !== NO_ID) set.uid = String(uid);
    if (gid !== NO_ID) set.gid = String(gid);
    return Object.keys(set).length ? this.setMeta(path, set) : Promise.resolve();
  }

  utimens(path: string, mtimeMs: number): Promise<void> {
    return this.setMeta(path, { mtime: mtimeMeta(mtimeMs) });
  }

  private async setMeta(path: string, set: Metadata): Promise<void> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account') return;
    if (t.kind === 'container') return this.store.setContainerMeta(t.container, set);
    if (this.files.stashMeta(path, set)) return; // the pending commit carries it
    if (await this.store.getObject(t.container, t.key)) return this.store.setObjectMeta(t.container, t.key, set);
    if (this.files.isUncommitted(path)) return;
    if (await this.store.getObject(t.container, `${t.key}/`)) return this.store.setObjectMeta(t.container, `${t.key}/`, set);
    if ((await this.lookup(path))?.kind !== 'dir') throw fsError(Errno.ENOENT, `${path} not found`);
    // An implicit directory gets a marker to hold its attributes.
    await this.putMarker(t.container, t.key, set);
  }

  async statfs(): Promise<FuseStatfs> {
    const space = await this.store.space(this.paths.container);
    const unit = 1024 * 1024;
    // Without a quota the store has no fixed size: report 1 PiB free.
    const total = space.quotaBytes ?? space.bytesUsed + 2 ** 50;
    const free = Math.max(0, total - space.bytesUsed);
    const clamp = (n: number) => Math.min(0xffffffff, Math.floor(n / unit));
    return {
      bsize: unit,
      frsize: unit,
      blocks: clamp(total),
      bfree: clamp(free),
      bavail: clamp(free),
      files: Math.min(0xffffffff, space.objectCount + 1_000_000_000),
      ffree: 1_000_000_000,
      favail: 1_000_000_000,
      fsid: 0x5347, // "SG"
      flag: 0,
      namemax: 255,
    };
  }

  // ------------------------------------------------------------------ helpers

  /**
   * After the last entry of a directory went away, the directory must stay (POSIX
   * keeps it until rmdir): an implicit directory gets a marker.
   */
  private async keepParent(t: EntryTarget): Promise<void> {
    const parent = parentKey(t.key);
    if (!parent) return;
    // hasChildren sees the parent's own `parent/` marker too.
    if (await this.store.hasChildren(t.container, parent)) return;
    const bare = await this.store.getObject(t.container, parent);
    if (bare && isMarker(bare)) return;
    await this.putMarker(t.container, parent, {});
  }

  private async putMarker(container: string, key: string, meta: Metadata): Promise<void> {
    await this.store.putObject(container, `${key}/`, bufferSource(Buffer.alloc(0)), { contentType: DIRECTORY_CONTENT_TYPE, meta });
  }
}
