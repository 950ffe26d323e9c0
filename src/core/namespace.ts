/**
 * The namespace service: accounts, containers, objects and pseudo-directories, and the
 * only API the views (HTTP, FTP, FUSE, public URLs) use. It orders every write the
 * crash-safe way — blob durable → metadata committed → change published → old blob
 * deleted — and it knows nothing of protocols.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore, BlobWriteResult, ByteRange } from '../../storage-backends/blob-store.ts';
import type { CommitOptions, MetadataStore, ObjectChange } from '../metadata/store.ts';
import { ABSENT, type ReadCache } from '../cache/read-cache.ts';
import { dropEmpty } from '../metadata/records.ts';
import type { ChangeFeed } from './change-feed.ts';
import { type CommitCheck, LocalMutator, type Mutator, type ObjectMetaUpdate, intMeta, quotaExceeded } from './mutations.ts';
import type { Constraints } from './constraints.ts';
import { ErrorCodes, errors, isSwiftgateError } from './errors.ts';
import { checkMetadata } from './metadata-limits.ts';
import { compareNames, validateAccountName, validateContainerName, validateObjectName } from './names.ts';
import { nowTimestamp } from './timestamp.ts';
import {
  type AccountRecord,
  type ContainerListing,
  type ContainerRecord,
  DIRECTORY_CONTENT_TYPE,
  type DirectoryEntry,
  type ListQuery,
  type Metadata,
  type ObjectListing,
  type ObjectRecord,
} from './types.ts';
import type { AccountUpdate, ContainerInit, ContainerUpdate } from '../metadata/store.ts';

export interface NamespaceDeps {
  store: MetadataStore;
  blobs: BlobStore;
  feed: ChangeFeed;
  constraints: Constraints;
  /** Hot read cache of this process (records, listings, small objects' bytes). */
  cache?: ReadCache;
  /** Runs mutations and publishes their events (default: on `store`, then to `feed`). */
  mutator?: Mutator;
  /**
   * Objects up to this size are stored inline in the metadata store, in the same atomic
   * commit as their record (0: never). Needs a store that keeps inline bytes.
   */
  inlineMaxBytes?: number;
  /** Seconds since the epoch; injectable for expiry tests. */
  now?: () => number;
}

export interface PutObjectOptions {
  contentType: string;
  meta?: Metadata;
  /** Stored system headers (lower-case): content-disposition, content-encoding, cache-control, … */
  headers?: Record<string, string>;
  deleteAt?: number;
  /** Client-declared MD5; a mismatch fails the upload (ETAG_MISMATCH) and stores nothing. */
  expectedEtag?: string;
  /** Declared length (Content-Length); a different byte count fails the upload. */
  expectedSize?: number;
  /** Fail with PRECONDITION_FAILED if the object exists (If-None-Match: *). */
  ifNoneMatch?: boolean;
  timestamp?: string;
  signal?: AbortSignal;
  /**
   * The source's bytes are also this finished local file (of `expectedSize` bytes, with
   * this MD5): a blob store that can adopt files takes it without a copy, and `source`
   * is then left unread. The file must not change afterwards.
   */
  localFile?: { path: string; md5: string };
  /**
   * False: resolve once the commit is written, before it is durable (a file closed
   * through FUSE: POSIX promises durability at fsync, see sync()). It survives a crash of
   * this process at once, and of the machine within a second. Default true.
   */
  durable?: boolean;
}

export interface CopyObjectOptions {
  /** Metadata for the destination: merged over the source's, or replacing it with `fresh`. */
  meta?: Metadata;
  fresh?: boolean;
  contentType?: string;
  headers?: Record<string, string>;
  deleteAt?: number | null;
  signal?: AbortSignal;
}

/**
 * A container's settings: its record without the counts (ACLs, quotas, metadata,
 * policy). Object writes never change them, so they can be cached across uploads.
 */
export type ContainerSettings = Omit<ContainerRecord, 'objectCount' | 'bytesUsed'>;
/** An account's settings: its record without the counts. */
export type AccountSettings = Omit<AccountRecord, 'containerCount' | 'objectCount' | 'bytesUsed'>;

export function containerSettingsOf(rec: ContainerRecord): ContainerSettings {
  const { objectCount, bytesUsed, ...settings } = rec;
  void objectCount;
  void bytesUsed;
  return settings;
}

export function accountSettingsOf(rec: AccountRecord): AccountSettings {
  const { containerCount, objectCount, bytesUsed, ...settings } = rec;
  void containerCount;
  void objectCount;
  void bytesUsed;
  return settings;
}

export interface ObjectRef {
  account: string;
  container: string;
  name: string;
}

export class Namespace {
  readonly store: MetadataStore;
  readonly blobs: BlobStore;
  readonly feed: ChangeFeed;
  readonly constraints: Constraints;
  readonly cache: ReadCache | undefined;
  private readonly mutator: Mutator;
  private readonly inlineMaxBytes: number;
  private readonly now: () => number;

  constructor(deps: NamespaceDeps) {
    this.store = deps.store;
    this.cache = deps.cache;
    this.inlineMaxBytes = deps.inlineMaxBytes ?? 0;
    this.blobs = deps.blobs;
    this.feed = deps.feed;
    this.constraints = deps.constraints;
    this.mutator = deps.mutator ?? new LocalMutator(deps.store, deps.feed);
    this.now = deps.now ?? (() => Date.now() / 1000);
  }

  // ------------------------------------------------------------------ accounts

  async getAccount(account: string): Promise<AccountRecord | undefined> {
    const cache = this.cache;
    if (!cache) return this.store.getAccount(account);
    const hit = cache.getAccount(account);
    if (hit !== undefined) return hit === ABSENT ? undefined : hit;
    const gen = cache.generation();
    const sgen = cache.settingsGeneration();
    const rec = await this.store.getAccount(account);
    cache.putAccount(gen, account, rec);
    cache.putAccountSettings(sgen, account, rec && accountSettingsOf(rec));
    return rec;
  }

  /**
   * The account's settings (ACL, quota, metadata) without its counts: cached across
   * object writes, dropped by account and container events only.
   */
  async getAccountSettings(account: string): Promise<AccountSettings | undefined> {
    const cache = this.cache;
    if (!cache) {
      const rec = await this.store.getAccount(account);
      return rec && accountSettingsOf(rec);
    }
    const hit = cache.getAccountSettings(account);
    if (hit !== undefined) return hit === ABSENT ? undefined : hit;
    const sgen = cache.settingsGeneration();
    const rec = await this.getAccount(account);
    const settings = rec && accountSettingsOf(rec);
    cache.putAccountSettings(sgen, account, settings);
    return settings;
  }

  async createAccount(account: string, init?: AccountUpdate): Promise<{ created: boolean; record: AccountRecord }> {
    validateAccountName(account, this.constraints);
    checkMetadata(init?.meta?.set, this.constraints, 'account');
    return this.mutator.run('createAccount', account, nowTimestamp(), init);
  }

  async updateAccount(account: string, update: AccountUpdate): Promise<AccountRecord> {
    checkMetadata(update.meta?.set, this.constraints, 'account');
    return this.mutator.run('updateAccount', account, update, nowTimestamp());
  }

  async deleteAccount(account: string): Promise<void> {
    await this.mutator.run('deleteAccount', account);
  }

  /** The returned listing may be shared with the cache: treat it as read-only. */
  async listContainers(account: string, query: ListQuery): Promise<ContainerListing> {
    const cache = this.cache;
    if (!cache) return this.store.listContainers(account, query);
    const key = listingKey(query);
    const hit = cache.getContainerListing(account, key);
    if (hit) return hit;
    const gen = cache.generation();
    const listing = await this.store.listContainers(account, query);
    cache.putContainerListing(gen, account, key, listing);
    return listing;
  }

  // ---------------------------------------------------------------- containers

  async getContainer(account: string, container: string): Promise<ContainerRecord | undefined> {
    const cache = this.cache;
    if (!cache) return this.store.getContainer(account, container);
    const hit = cache.getContainer(account, container);
    if (hit !== undefined) return hit === ABSENT ? undefined : hit;
    const gen = cache.generation();
    const sgen = cache.settingsGeneration();
    const rec = await this.store.getContainer(account, container);
    cache.putContainer(gen, account, container, rec);
    cache.putContainerSettings(sgen, account, container, rec && containerSettingsOf(rec));
    return rec;
  }

  /**
   * The container's settings (ACLs, quotas, metadata; undefined: no such container)
   * without its counts: cached across object writes, dropped by container events only.
   */
  async getContainerSettings(account: string, container: string): Promise<ContainerSettings | undefined> {
    const cache = this.cache;
    if (!cache) {
      const rec = await this.store.getContainer(account, container);
      return rec && containerSettingsOf(rec);
    }
    const hit = cache.getContainerSettings(account, container);
    if (hit !== undefined) return hit === ABSENT ? undefined : hit;
    const sgen = cache.settingsGeneration();
    const rec = await this.getContainer(account, container);
    const settings = rec && containerSettingsOf(rec);
    cache.putContainerSettings(sgen, account, container, settings);
    return settings;
  }

  async createContainer(account: string, container: string, init?: ContainerInit): Promise<{ created: boolean; record: ContainerRecord }> {
    validateContainerName(container, this.constraints);
    checkMetadata(init?.meta, this.constraints, 'container');
    return this.mutator.run('createContainer', account, container, nowTimestamp(), init);
  }

  async updateContainer(account: string, container: string, update: ContainerUpdate): Promise<ContainerRecord> {
    checkMetadata(update.meta?.set, this.constraints, 'container');
    return this.mutator.run('updateContainer', account, container, update, nowTimestamp());
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    await this.mutator.run('deleteContainer', account, container);
  }

  /** The returned listing may be shared with the cache: treat it as read-only. */
  async listObjects(account: string, container: string, query: ListQuery): Promise<ObjectListing> {
    const cache = this.cache;
    if (!cache) return this.store.listObjects(account, container, query);
    const key = listingKey(query);
    const hit = cache.getObjectListing(account, container, key);
    if (hit) return hit;
    const gen = cache.generation();
    const listing = await this.store.listObjects(account, container, query);
    cache.putObjectListing(gen, account, container, key, listing);
    return listing;
  }

  // ------------------------------------------------------------------- objects

  /** The object's record, or undefined if missing or expired. */
  async getObject(account: string, container: string, name: string): Promise<ObjectRecord | undefined> {
    let rec: ObjectRecord | undefined;
    const cache = this.cache;
    if (cache) {
      const hit = cache.getObject(account, container, name);
      if (hit === ABSENT) return undefined;
      if (hit) rec = hit;
      else {
        const gen = cache.generation();
        rec = await this.store.getObject(account, container, name);
        cache.putObject(gen, account, container, name, rec);
      }
    } else {
      rec = await this.store.getObject(account, container, name);
    }
    if (!rec) return undefined;
    if (rec.deleteAt !== undefined && rec.deleteAt <= this.now()) return undefined;
    return rec;
  }

  /**
   * Opens the bytes of `record`. If an overwrite removed the blob between reading the
   * record and opening it, the newest version is opened instead (its record is returned).
   */
  async openObject(record: ObjectRecord, range?: ByteRange): Promise<{ record: ObjectRecord; stream: Readable }> {
    let current = record;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (current.inline) return { record: current, stream: inlineStream(await this.inlineBytes(current), range) };
        return { record: current, stream: await this.blobs.read(current.blobId, range) };
      } catch (err) {
        if (!isSwiftgateError(err, ErrorCodes.NOT_FOUND)) throw err;
        const fresh = await this.getObject(current.account, current.container, current.name);
        if (!fresh) throw errors.objectNotFound(current.name);
        if (fresh.blobId === current.blobId) throw errors.internal(`bytes of ${current.name} are missing (run fsck)`);
        current = fresh;
      }
    }
    throw errors.internal(`object ${record.name} keeps changing`);
  }

  /**
   * The whole bytes of a small object from memory when hot (size ≤ the cache's object
   * limit); undefined when the object is too big to cache or there is no cache — then
   * stream it with openObject.
   */
  async readSmallObject(record: ObjectRecord): Promise<{ record: ObjectRecord; bytes: Buffer } | undefined> {
    const cache = this.cache;
    if (!cache || record.size > cache.maxObjectBytes) return undefined;
    const hit = cache.getBytes(record.blobId);
    if (hit) return { record, bytes: hit };
    if (record.inline) {
      try {
        const bytes = await this.inlineBytes(record);
        cache.putBytes(record.blobId, bytes);
        return { record, bytes };
      } catch (err) {
        if (!isSwiftgateError(err, ErrorCodes.NOT_FOUND)) throw err;
        // Overwritten since the record was read: fall through to openObject, which follows it.
      }
    }
    const { record: current, stream } = await this.openObject(record);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    cache.putBytes(current.blobId, bytes);
    return { record: current, bytes };
  }

  async putObject(account: string, container: string, name: string, source: Readable, opts: PutObjectOptions): Promise<ObjectRecord> {
    validateObjectName(name, this.constraints);
    checkMetadata(opts.meta, this.constraints, 'object');
    if (opts.expectedSize !== undefined && opts.expectedSize > this.constraints.max_file_size)
      throw errors.objectTooLarge(`object larger than ${this.constraints.max_file_size} bytes`);
    const cont = await this.requireContainer(account, container);
    if (opts.ifNoneMatch && (await this.getObject(account, container, name)))
      throw errors.preconditionFailed('object exists (If-None-Match: *)');
    await this.checkQuota(account, cont, opts.expectedSize ?? 0, 1);

    const adopted = opts.localFile && opts.expectedSize !== undefined ? await this.adoptFile(opts.localFile, opts.expectedSize, opts.expectedEtag) : undefined;
    if (adopted) source.destroy();
    const blob =
      adopted ??
      (await this.writeBlob(source, {
        ...(opts.expectedSize !== undefined ? { expectedSize: opts.expectedSize } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        expectedEtag: opts.expectedEtag,
      }));
    let quotas: boolean;
    try {
      // Settings again (cached): a quota set during the upload counts too.
      quotas = await this.quotasApply(account, container);
      // The caller may have given up while the blob was being made durable (e.g. an FTP
      // client killed right after its data connection ended): the last moment to say no.
      if (opts.signal?.aborted) throw errors.uploadAborted('the upload was abandoned before it was committed');
    } catch (err) {
      await this.discardBlob(blob.blobId);
      throw err;
    }
    // Taken with nothing awaited before the commit queues behind this account's lock, so
    // this process's writes commit in timestamp order: the newest X-Timestamp wins.
    const timestamp = opts.timestamp ?? nowTimestamp();
    const record: ObjectRecord = {
      account,
      container,
      name,
      size: blob.size,
      etag: blob.etag,
      contentType: opts.contentType,
      timestamp,
      metaTimestamp: timestamp,
      blobId: blob.blobId,
      ...(blob.inline ? { inline: true } : {}),
      meta: dropEmpty(opts.meta),
      headers: opts.headers ?? {},
      ...(opts.deleteAt !== undefined ? { deleteAt: opts.deleteAt } : {}),
    };
    try {
      // Quotas are checked with the commit, against the counts at that moment, real size.
      const check = quotas ? { quota: { bytes: blob.size, objects: 1 } } : undefined;
      await this.commit(account, container, [{ op: 'put', record, ...(blob.inline ? { inline: blob.inline } : {}) }], check, opts.durable === false ? { durable: false } : undefined);
    } catch (err) {
      await this.discardBlob(blob.blobId);
      throw err;
    }
    return record;
  }

  /** Makes every commit so far durable, also those made with `durable: false` (fsync(2)). */
  sync(): Promise<void> {
    return this.store.sync();
  }

  async copyObject(src: ObjectRef, dst: ObjectRef, opts: CopyObjectOptions = {}): Promise<{ source: ObjectRecord; record: ObjectRecord }> {
    validateObjectName(dst.name, this.constraints);
    checkMetadata(opts.meta, this.constraints, 'object');
    const source = await this.getObject(src.account, src.container, src.name);
    if (!source) throw errors.objectNotFound(src.name);
    const cont = await this.requireContainer(dst.account, dst.container);
    await this.checkQuota(dst.account, cont, source.size, 1);
    const opened = await this.openObject(source);
    const blob = await this.writeBlob(opened.stream, { expectedSize: opened.record.size, ...(opts.signal ? { signal: opts.signal } : {}) });
    const timestamp = nowTimestamp();
    const base = opened.record;
    const meta = opts.fresh ? dropEmpty(opts.meta) : dropEmpty({ ...base.meta, ...(opts.meta ?? {}) });
    const record: ObjectRecord = {
      account: dst.account,
      container: dst.container,
      name: dst.name,
      size: blob.size,
      etag: blob.etag,
      contentType: opts.contentType ?? base.contentType,
      timestamp,
      metaTimestamp: timestamp,
      blobId: blob.blobId,
      ...(blob.inline ? { inline: true } : {}),
      meta,
      headers: opts.fresh ? { ...(opts.headers ?? {}) } : { ...base.headers, ...(opts.headers ?? {}) },
    };
    const deleteAt = opts.deleteAt === undefined ? base.deleteAt : (opts.deleteAt ?? undefined);
    if (deleteAt !== undefined) record.deleteAt = deleteAt;
    try {
      const check = (await this.quotasApply(dst.account, dst.container)) ? { quota: { bytes: blob.size, objects: 1 } } : undefined;
      await this.commit(dst.account, dst.container, [{ op: 'put', record, ...(blob.inline ? { inline: blob.inline } : {}) }], check);
    } catch (err) {
      await this.discardBlob(blob.blobId);
      throw err;
    }
    return { source: base, record };
  }

  async updateObjectMeta(
    account: string,
    container: string,
    name: string,
    update: ObjectMetaUpdate,
  ): Promise<ObjectRecord> {
    checkMetadata(update.meta?.set, this.constraints, 'object');
    // Not found (or expired) is decided where the update runs: no read before it.
    return this.mutator.run('updateObjectMeta', account, container, name, update, nowTimestamp(), this.now());
  }

  async deleteObject(account: string, container: string, name: string): Promise<ObjectRecord> {
    // A missing or expired object (or container) fails the check that runs with the commit.
    const { previous } = await this.commit(account, container, [{ op: 'delete', name }], { exists: { name, now: this.now() } });
    const prev = previous.get(name);
    if (!prev) throw errors.objectNotFound(name);
    return prev;
  }

  /** Renames one object within a container without copying bytes. Replaces an existing target. */
  async renameObject(account: string, container: string, from: string, to: string): Promise<ObjectRecord> {
    validateObjectName(to, this.constraints);
    const src = await this.getObject(account, container, from);
    if (!src) throw errors.objectNotFound(from);
    const moved: ObjectRecord = { ...src, name: to };
    await this.commit(account, container, [
      { op: 'delete', name: from, ifTimestamp: src.timestamp },
      { op: 'put', record: moved },
    ]);
    return moved;
  }

  // --------------------------------------------------------- pseudo-directories

  /**
   * What is in directory `dir` ('' for the container root, else without trailing '/').
   * Markers (`d/x/`, or `d/x` typed application/directory) and implicit directories
   * (`d/x/…`) merge into one entry; one range scan per page.
   */
  async listDirectory(
    account: string,
    container: string,
    dir: string,
    opts: { marker?: string; limit?: number } = {},
  ): Promise<{ entries: DirectoryEntry[]; nextMarker?: string }> {
    const prefix = dir ? `${dir}/` : '';
    const limit = opts.limit ?? 1000;
    const page = await this.store.listObjects(account, container, {
      prefix,
      delimiter: '/',
      limit,
      ...(opts.marker ? { marker: opts.marker } : {}),
    });
    const entries: DirectoryEntry[] = [];
    const markersSeen = new Set<string>();
    for (const item of page) {
      if (item.kind === 'subdir') {
        const leaf = item.name.slice(prefix.length, -1);
        if (!leaf || markersSeen.has(leaf)) continue;
        // A marker `d/x` may have been listed on an earlier page: look it up once.
        const marker = await this.store.getObject(account, container, item.name.slice(0, -1));
        if (marker && isDirectoryMarker(marker) && opts.marker && compareNames(marker.name, opts.marker) <= 0) continue;
        entries.push({ name: leaf, kind: 'directory' });
        continue;
      }
      const leaf = item.name.slice(prefix.length);
      if (!leaf) continue; // the directory's own `d/` marker
      if (item.contentType === DIRECTORY_CONTENT_TYPE && item.size === 0) {
        markersSeen.add(leaf);
        entries.push({ name: leaf, kind: 'directory', object: item });
        continue;
      }
      entries.push({ name: leaf, kind: 'file', object: item });
    }
    // A file `d/x` next to a directory `d/x/…` cannot both be shown by a filesystem: the
    // directory wins (its contents stay reachable); the file remains reachable over the API.
    const dirs = new Set(entries.filter((e) => e.kind === 'directory').map((e) => e.name));
    const visible = dirs.size > 0 ? entries.filter((e) => e.kind === 'directory' || !dirs.has(e.name)) : entries;
    const last = page[page.length - 1];
    return page.length >= limit && last ? { entries: visible, nextMarker: last.name } : { entries: visible };
  }

  /** True if `dir` exists as a marker or as the prefix of any object. */
  async directoryExists(account: string, container: string, dir: string): Promise<boolean> {
    if (!dir) return (await this.store.getContainer(account, container)) !== undefined;
    const slash = await this.store.getObject(account, container, `${dir}/`);
    if (slash) return true;
    const bare = await this.store.getObject(account, container, dir);
    if (bare && isDirectoryMarker(bare)) return true;
    const any = await this.store.listObjects(account, container, { prefix: `${dir}/`, limit: 1 });
    return any.length > 0;
  }

  /** Creates an empty directory: a zero-byte `dir/` marker typed application/directory. */
  async makeDirectory(account: string, container: string, dir: string, meta?: Metadata): Promise<ObjectRecord> {
    if (await this.directoryExists(account, container, dir)) throw errors.alreadyExists(`directory ${dir}`);
    const file = await this.getObject(account, container, dir);
    if (file) throw errors.alreadyExists(`${dir} (a file)`);
    return this.putObject(account, container, `${dir}/`, Readable.from([]), {
      contentType: DIRECTORY_CONTENT_TYPE,
      expectedSize: 0,
      ...(meta ? { meta } : {}),
    });
  }

  /** Removes an empty directory (its markers); DIRECTORY_NOT_EMPTY otherwise. */
  async removeDirectory(account: string, container: string, dir: string): Promise<void> {
    const inside = await this.store.listObjects(account, container, { prefix: `${dir}/`, limit: 2 });
    if (inside.some((e) => e.name !== `${dir}/`)) throw errors.directoryNotEmpty(dir);
    const changes: ObjectChange[] = [];
    if (inside.length > 0) changes.push({ op: 'delete', name: `${dir}/` });
    const bare = await this.store.getObject(account, container, dir);
    if (bare && isDirectoryMarker(bare)) changes.push({ op: 'delete', name: dir });
    if (changes.length === 0) throw errors.notFound(`directory ${dir}`);
    await this.commit(account, container, changes);
  }

  /**
   * Renames a whole directory inside one container as one atomic metadata commit: no
   * byte is copied. The target must not exist.
   */
  async renameDirectory(account: string, container: string, from: string, to: string): Promise<number> {
    if (to === from || to.startsWith(`${from}/`)) throw errors.invalidArgument('cannot move a directory into itself');
    if (await this.directoryExists(account, container, to)) throw errors.alreadyExists(`directory ${to}`);
    if (await this.getObject(account, container, to)) throw errors.alreadyExists(to);
    const changes: ObjectChange[] = [];
    const bare = await this.store.getObject(account, container, from);
    const moves: ObjectRecord[] = [];
    if (bare && isDirectoryMarker(bare)) moves.push(bare);
    for await (const rec of this.scanPrefix(account, container, `${from}/`)) moves.push(rec);
    if (moves.length === 0) throw errors.notFound(`directory ${from}`);
    for (const rec of moves) {
      const newName = to + rec.name.slice(from.length);
      validateObjectName(newName, this.constraints);
      changes.push({ op: 'delete', name: rec.name, ifTimestamp: rec.timestamp });
      changes.push({ op: 'put', record: { ...rec, name: newName }, ifTimestamp: null });
    }
    await this.commit(account, container, changes);
    return moves.length;
  }

  // ---------------------------------------------------------------- upkeep

  /** Deletes objects whose X-Delete-At has passed. Returns how many. */
  async reapExpired(limit = 1000): Promise<number> {
    const due = await this.store.listExpiredObjects(Math.floor(this.now()), limit);
    let n = 0;
    for (const d of due) {
      const rec = await this.store.getObject(d.account, d.container, d.name);
      if (!rec || rec.deleteAt !== d.deleteAt) continue;
      try {
        await this.commit(d.account, d.container, [{ op: 'delete', name: d.name, ifTimestamp: rec.timestamp }]);
        n++;
      } catch (err) {
        if (!isSwiftgateError(err, ErrorCodes.CONFLICT) && !isSwiftgateError(err, ErrorCodes.CONTAINER_NOT_FOUND)) throw err;
      }
    }
    return n;
  }

  /** Deletes blobs that commits made unreferenced. */
  async collectGarbage(limit = 1000): Promise<number> {
    const ids = await this.store.listGarbageBlobs(limit);
    for (const id of ids) {
      await this.blobs.delete(id);
      await this.store.clearGarbageBlob(id);
    }
    return ids.length;
  }

  /**
   * Start-up recovery after a crash: temp files of interrupted writes, blobs of uploads
   * that never committed (pending before `pendingBeforeMs`) and unreferenced blobs.
   */
  async recover(pendingBeforeMs = Date.now()): Promise<{ temp: number; pending: number; garbage: number }> {
    const temp = await this.blobs.cleanupIncomplete();
    let pending = 0;
    for (;;) {
      const ids = await this.store.listPendingBlobs(pendingBeforeMs, 1000);
      for (const id of ids) {
        await this.blobs.delete(id);
        await this.store.removePendingBlob(id);
      }
      pending += ids.length;
      if (ids.length < 1000) break;
    }
    let garbage = 0;
    for (let n = await this.collectGarbage(); n > 0; n = await this.collectGarbage()) garbage += n;
    return { temp, pending, garbage };
  }

  // ------------------------------------------------------------------ helpers

  private async requireContainer(account: string, container: string): Promise<ContainerSettings> {
    const cont = await this.getContainerSettings(account, container);
    if (!cont) throw errors.containerNotFound(container);
    return cont;
  }

  /** Whether the (cached) settings of the container or its account set a quota. */
  private async quotasApply(account: string, container: string): Promise<boolean> {
    const [cont, acct] = await Promise.all([this.getContainerSettings(account, container), this.getAccountSettings(account)]);
    return hasContainerQuota(cont) || hasAccountQuota(acct);
  }

  /**
   * Quotas compare against exact counts, so those are read fresh — but only when the
   * (cached) settings of the container or account set a quota at all.
   */
  private async checkQuota(account: string, cont: ContainerSettings, bytes: number, objects: number): Promise<void> {
    const acct = await this.getAccountSettings(account);
    if (!hasContainerQuota(cont) && !hasAccountQuota(acct)) return;
    const [c, a] = await Promise.all([this.store.getContainer(account, cont.name), this.store.getAccount(account)]);
    if (!c) throw errors.containerNotFound(cont.name);
    const over = quotaExceeded(c, a, bytes, objects);
    if (over) throw over;
  }

  /**
   * Stores the bytes of an upload. Small uploads (up to inlineMaxBytes) stay in memory and
   * are returned as `inline` to be committed with their record; larger ones stream to the
   * blob store, durable before this resolves. Either way nothing is left on failure.
   */
  private async writeBlob(
    source: Readable,
    opts: { expectedSize?: number; signal?: AbortSignal; expectedEtag?: string | undefined },
  ): Promise<WrittenBlob> {
    let input = source;
    const limit = this.inlineMaxBytes;
    if (limit > 0 && (opts.expectedSize === undefined || opts.expectedSize <= limit)) {
      const head = await readHead(source, limit, opts.signal);
      if (head.done) {
        const bytes = head.chunks.length === 1 ? (head.chunks[0] as Buffer) : Buffer.concat(head.chunks, head.size);
        if (opts.expectedSize !== undefined && bytes.length !== opts.expectedSize) throw errors.sizeMismatch(opts.expectedSize, bytes.length);
        const etag = createHash('md5').update(bytes).digest('hex');
        if (opts.expectedEtag && opts.expectedEtag.toLowerCase() !== etag) throw errors.etagMismatch(opts.expectedEtag, etag);
        return { blobId: `i${this.blobs.newBlobId()}`, size: bytes.length, etag, inline: bytes };
      }
      input = Readable.from(continueAfterHead(head.chunks, head.rest), { objectMode: false });
    }
    const blobId = this.blobs.newBlobId();
    await this.store.addPendingBlob(blobId);
    let blob: BlobWriteResult;
    try {
      blob = await this.blobs.write(blobId, input, {
        maxSize: this.constraints.max_file_size,
        ...(opts.expectedSize !== undefined ? { expectedSize: opts.expectedSize } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      await this.store.removePendingBlob(blobId).catch(() => undefined);
      throw err;
    }
    if (opts.expectedEtag && opts.expectedEtag.toLowerCase() !== blob.etag) {
      await this.discardBlob(blobId);
      throw errors.etagMismatch(opts.expectedEtag, blob.etag);
    }
    return blob;
  }

  /** A finished local file as a blob without copying it, when the blob store can; else undefined. */
  private async adoptFile(file: { path: string; md5: string }, size: number, expectedEtag?: string): Promise<WrittenBlob | undefined> {
    if (!this.blobs.adopt || size <= this.inlineMaxBytes || size > this.constraints.max_file_size) return undefined;
    if (expectedEtag && expectedEtag.toLowerCase() !== file.md5) throw errors.etagMismatch(expectedEtag, file.md5);
    const blobId = this.blobs.newBlobId();
    await this.store.addPendingBlob(blobId);
    try {
      if (await this.blobs.adopt(blobId, file.path, size)) return { blobId, size, etag: file.md5 };
    } catch (err) {
      await this.store.removePendingBlob(blobId).catch(() => undefined);
      throw err;
    }
    await this.store.removePendingBlob(blobId).catch(() => undefined);
    return undefined;
  }

  private async inlineBytes(record: ObjectRecord): Promise<Buffer> {
    const bytes = this.cache?.getBytes(record.blobId) ?? (await this.store.getInlineBlob(record.blobId));
    if (!bytes) throw errors.notFound(`inline bytes of ${record.name}`);
    return bytes;
  }


  private async discardBlob(blobId: string): Promise<void> {
    if (blobId.startsWith('i')) return; // inline: nothing was stored outside the commit
    await this.blobs.delete(blobId).catch(() => undefined);
    await this.store.removePendingBlob(blobId).catch(() => undefined);
  }

  /** Commits and publishes (every cache clean) in one step; in cluster mode one host round trip. */
  private async commit(account: string, container: string, changes: ObjectChange[], check?: CommitCheck, opts?: CommitOptions) {
    const result = await this.mutator.run('commitObjects', account, container, changes, check, opts);
    if (result.garbage.length > 0) void this.deleteGarbage(result.garbage);
    return result;
  }

  private async deleteGarbage(ids: string[]): Promise<void> {
    for (const id of ids) {
      try {
        await this.blobs.delete(id);
        await this.store.clearGarbageBlob(id);
      } catch {
        // Left marked as garbage: the next collection or start-up retries it.
      }
    }
  }

  private async *scanPrefix(account: string, container: string, prefix: string): AsyncIterable<ObjectRecord> {
    let marker: string | undefined;
    for (;;) {
      const page = await this.store.listObjects(account, container, { prefix, limit: 1000, ...(marker ? { marker } : {}) });
      for (const e of page) {
        if (e.kind !== 'object') continue;
        const rec = await this.store.getObject(account, container, e.name);
        if (rec) yield rec;
      }
      const last = page[page.length - 1];
      if (page.length < 1000 || !last) return;
      marker = last.name;
    }
  }
}

interface WrittenBlob extends BlobWriteResult {
  /** The bytes, when small enough to be committed with the record. */
  inline?: Buffer;
}

/**
 * Reads at most `limit` + 1 bytes; `done` tells whether the source ended within `limit`.
 * Errors of the source (a client that went away) become UPLOAD_ABORTED.
 */
async function readHead(source: Readable, limit: number, signal?: AbortSignal) {
  const rest = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(errors.uploadAborted());
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    while (size <= limit) {
      const r = await Promise.race([rest.next(), aborted]);
      if (r.done) return { chunks, size, done: true as const, rest };
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      chunks.push(b);
      size += b.length;
    }
    return { chunks, size, done: false as const, rest };
  } catch (err) {
    source.destroy();
    if (isSwiftgateError(err)) throw err;
    throw errors.uploadAborted(`upload failed: ${(err as Error).message}`);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

async function* continueAfterHead(head: Buffer[], rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield* head;
    for (;;) {
      const r = await rest.next();
      if (r.done) {
        finished = true;
        return;
      }
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  } finally {
    // The blob store stopped early (too large, aborted): release the source too.
    if (!finished) await rest.return?.();
  }
}

function inlineStream(bytes: Buffer, range?: ByteRange): Readable {
  if (!range) return Readable.from([bytes], { objectMode: false });
  if (range.start >= bytes.length || range.start < 0 || range.end < range.start) throw errors.rangeNotSatisfiable();
  return Readable.from([bytes.subarray(range.start, Math.min(range.end, bytes.length - 1) + 1)], { objectMode: false });
}

export function isDirectoryMarker(rec: { contentType: string; size: number }): boolean {
  return rec.contentType === DIRECTORY_CONTENT_TYPE && rec.size === 0;
}

function listingKey(q: ListQuery): string {
  // JSON keeps parts apart whatever characters the names hold.
  return JSON.stringify([q.limit, q.reverse === true, q.prefix, q.delimiter, q.marker, q.endMarker, q.path]);
}

function hasContainerQuota(cont: ContainerSettings | undefined): boolean {
  if (!cont) return false;
  return intMeta(cont.meta['quota-bytes']) !== undefined || intMeta(cont.meta['quota-count']) !== undefined;
}

function hasAccountQuota(acct: AccountSettings | undefined): boolean {
  return intMeta(acct?.meta['quota-bytes']) !== undefined;
}


