/**
 * The POSIX view of one account (or one container) over the Namespace: what a path
 * is, directory listings, and every namespace change a syscall makes. Byte I/O of open
 * files is in files.ts. Methods throw (FsError or core errors); ops.ts maps to errno.
 */
import { Readable } from 'node:stream';
import type { Namespace } from '../../src/core/namespace.ts';
import { isDirectoryMarker } from '../../src/core/namespace.ts';
import { DIRECTORY_CONTENT_TYPE, type Metadata, type ObjectRecord } from '../../src/core/types.ts';
import { type NodeInfo, type Owner, SYMLINK_CONTENT_TYPE, metaMtime, mtimeMeta, nodeOfObject, timestampMs } from './attrs.ts';
import { Errno, fsError } from './errno.ts';
import type { FuseStatfs } from './fuse-native.d.ts';
import type { OpenFiles } from './files.ts';
import type { LookupCache } from './lookup-cache.ts';
import { type EntryTarget, type PathMap, parentKey } from './paths.ts';

const PAGE = 1000;
const MAX_LINK = 4096;
const NO_ID = 0xffffffff; // chown's "-1": leave unchanged

export interface FilesystemDeps {
  ns: Namespace;
  paths: PathMap;
  files: OpenFiles;
  cache: LookupCache;
  owner: Owner;
}

export class Filesystem {
  private readonly ns: Namespace;
  private readonly paths: PathMap;
  private readonly files: OpenFiles;
  private readonly cache: LookupCache;
  readonly owner: Owner;
  private readonly startedMs = Date.now();

  constructor(deps: FilesystemDeps) {
    this.ns = deps.ns;
    this.paths = deps.paths;
    this.files = deps.files;
    this.cache = deps.cache;
    this.owner = deps.owner;
  }

  private get account(): string {
    return this.paths.account;
  }

  // ------------------------------------------------------------------ lookups

  async lookup(path: string): Promise<NodeInfo | undefined> {
    const open = this.files.info(path);
    if (open) return open;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached ?? undefined;
    const gen = this.cache.gen;
    const node = await this.lookupUncached(path);
    this.cache.set(path, node ?? null, gen);
    return node;
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
      const c = await this.ns.getContainer(this.account, t.container);
      if (!c) return undefined;
      const ts = timestampMs(c.putTimestamp);
      return { kind: 'dir', size: 0, mtimeMs: metaMtime(c.meta) ?? ts, ctimeMs: ts, meta: c.meta };
    }
    const rec = await this.ns.getObject(this.account, t.container, t.key);
    if (rec) return nodeOfObject(rec, isDirectoryMarker(rec) ? 'dir' : rec.contentType === SYMLINK_CONTENT_TYPE ? 'symlink' : 'file');
    const marker = await this.ns.getObject(this.account, t.container, `${t.key}/`);
    if (marker) return nodeOfObject(marker, 'dir');
    // An implicit directory: objects below it, no marker. Its time is that of the first one.
    const below = await this.ns.listObjects(this.account, t.container, { prefix: `${t.key}/`, limit: 1 });
    const first = below[0];
    if (!first) return undefined;
    const ms = first.kind === 'object' ? timestampMs(first.lastModified) : this.startedMs;
    return { kind: 'dir', size: 0, mtimeMs: ms, ctimeMs: ms, meta: {} };
  }

  /** The names in a directory, read page by page (only names are kept). */
  async readdir(path: string): Promise<string[]> {
    const t = this.paths.resolve(path);
    const names = ['.', '..'];
    if (t.kind === 'account') {
      let marker: string | undefined;
      for (;;) {
        const page = await this.ns.listContainers(this.account, { limit: PAGE, ...(marker ? { marker } : {}) });
        for (const c of page) names.push(c.name);
        const last = page[page.length - 1];
        if (page.length < PAGE || !last) return names;
        marker = last.name;
      }
    }
    const node = await this.require(path);
    if (node.kind !== 'dir') throw fsError(Errno.ENOTDIR, `${path} is not a directory`);
    const container = t.container;
    const dir = t.kind === 'entry' ? t.key : '';
    const dirsSeen = new Set<string>();
    let marker: string | undefined;
    do {
      const page = await this.ns.listDirectory(this.account, container, dir, { limit: PAGE, ...(marker ? { marker } : {}) });
      for (const e of page.entries) {
        if (e.kind === 'directory') {
          // A marker and objects below it are one directory, even across pages.
          if (dirsSeen.has(e.name)) continue;
          dirsSeen.add(e.name);
        }
        names.push(e.name);
      }
      marker = page.nextMarker;
    } while (marker);
    for (const name of this.files.uncommittedIn(path)) if (!names.includes(name)) names.push(name);
    return names;
  }

  // ------------------------------------------------------------- directories

  async mkdir(path: string, mode: number): Promise<void> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account' || (t.kind === 'container' && t.isMountRoot)) throw fsError(Errno.EEXIST, `${path} exists`);
    if (t.kind === 'container') {
      const r = await this.ns.createContainer(this.account, t.container, { meta: { mode: (mode & 0o7777).toString(8) } });
      if (!r.created) throw fsError(Errno.EEXIST, `${path} exists`);
      return;
    }
    await this.ns.makeDirectory(this.account, t.container, t.key, { mode: (mode & 0o7777).toString(8) });
  }

  async rmdir(path: string): Promise<void> {
    const t = this.paths.resolve(path);
    if (t.kind === 'account' || (t.kind === 'container' && t.isMountRoot)) throw fsError(Errno.EBUSY, 'cannot remove the mount root');
    if (t.kind === 'container') return this.ns.deleteContainer(this.account, t.container);
    const node = await this.require(path);
    if (node.kind !== 'dir') throw fsError(Errno.ENOTDIR, `${path} is not a directory`);
    await this.ns.removeDirectory(this.account, t.container, t.key);
    await this.keepParent(t);
  }

  // ------------------------------------------------------------------- files

  async unlink(path: string): Promise<void> {
    const t = this.paths.entry(path, 'unlink');
    await this.files.settle(path);
    const rec = await this.ns.getObject(this.account, t.container, t.key);
    if (!rec || isDirectoryMarker(rec)) {
      if (!rec && this.files.isUncommitted(path)) return this.files.forget(path);
      if (rec || (await this.lookup(path))?.kind === 'dir') throw fsError(Errno.EISDIR, `${path} is a directory`);
      throw fsError(Errno.ENOENT, `${path} not found`);
    }
    this.files.forget(path);
    await this.ns.deleteObject(this.account, t.container, t.key);
    await this.keepParent(t);
  }

  /** Metadata-only renames inside a container; anything else is EXDEV (mv copies). */
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
      if (existing) await this.ns.removeDirectory(this.account, dst.container, dst.key); // only if empty, as rename(2)
      await this.ns.renameDirectory(this.account, src.container, src.key, dst.key);
    } else {
      if (existing?.kind === 'dir') throw fsError(Errno.EISDIR, `${to} is a directory`);
      await this.ns.renameObject(this.account, src.container, src.key, dst.key);
    }
    this.files.renamed(from, to);
    await this.keepParent(src);
  }

  async symlink(target: string, path: string): Promise<void> {
    const t = this.paths.entry(path, 'symlink');
    const bytes = Buffer.from(target, 'utf8');
    if (bytes.length > MAX_LINK) throw fsError(Errno.ENAMETOOLONG, 'symlink target too long');
    await this.ns.putObject(this.account, t.container, t.key, Readable.from([bytes]), {
      contentType: SYMLINK_CONTENT_TYPE,
      expectedSize: bytes.length,
      meta: { mtime: mtimeMeta(Date.now()) },
    });
  }

  async readlink(path: string): Promise<string> {
    const t = this.paths.entry(path, 'readlink');
    const rec = await this.ns.getObject(this.account, t.container, t.key);
    if (!rec) throw fsError(Errno.ENOENT, `${path} not found`);
    if (rec.contentType !== SYMLINK_CONTENT_TYPE || rec.size > MAX_LINK) throw fsError(Errno.EINVAL, `${path} is not a symlink`);
    const { stream } = await this.ns.openObject(rec);
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
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
    if (t.kind === 'container') {
      await this.ns.updateContainer(this.account, t.container, { meta: { set } });
      return;
    }
    if (this.files.stashMeta(path, set)) return; // the pending commit carries it
    const rec = await this.ns.getObject(this.account, t.container, t.key);
    if (rec) {
      await this.ns.updateObjectMeta(this.account, t.container, t.key, { meta: { set } });
      return;
    }
    if (this.files.isUncommitted(path)) return;
    const marker = await this.ns.getObject(this.account, t.container, `${t.key}/`);
    if (marker) {
      await this.ns.updateObjectMeta(this.account, t.container, marker.name, { meta: { set } });
      return;
    }
    if ((await this.lookup(path))?.kind !== 'dir') throw fsError(Errno.ENOENT, `${path} not found`);
    // An implicit directory gets a marker to hold its attributes.
    await this.putMarker(t.container, t.key, set);
  }

  async statfs(): Promise<FuseStatfs> {
    const acct = await this.ns.getAccount(this.account);
    const cont = this.paths.container !== undefined ? await this.ns.getContainer(this.account, this.paths.container) : undefined;
    const quota = intMeta(cont?.meta['quota-bytes']) ?? intMeta(acct?.meta['quota-bytes']);
    const used = (intMeta(cont?.meta['quota-bytes']) !== undefined ? cont?.bytesUsed : acct?.bytesUsed) ?? 0;
    const unit = 1024 * 1024;
    // Without a quota the store has no fixed size: report 1 PiB free.
    const total = quota ?? used + 2 ** 50;
    const free = Math.max(0, total - used);
    const clamp = (n: number) => Math.min(0xffffffff, Math.floor(n / unit));
    const files = acct?.objectCount ?? 0;
    return {
      bsize: unit,
      frsize: unit,
      blocks: clamp(total),
      bfree: clamp(free),
      bavail: clamp(free),
      files: Math.min(0xffffffff, files + 1_000_000_000),
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
    if (await this.ns.getObject(this.account, t.container, `${parent}/`)) return;
    if (await this.ns.directoryExists(this.account, t.container, parent)) return;
    await this.putMarker(t.container, parent, {});
  }

  private putMarker(container: string, key: string, meta: Metadata): Promise<ObjectRecord> {
    return this.ns.putObject(this.account, container, `${key}/`, Readable.from([]), { contentType: DIRECTORY_CONTENT_TYPE, expectedSize: 0, meta });
  }
}

function intMeta(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}
