/**
 * What the FUSE operations need from "the store", so that they do not care whether it is
 * the core in this process (local mode, backends/local.ts) or a Swift endpoint over HTTP
 * (remote mode, remote/backend.ts). Names are object names inside one account; `dir`
 * arguments are object-name prefixes without the trailing slash ('' = container root).
 * Methods throw FsError, core errors or HTTP status errors; errno.ts maps all of them.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Metadata } from '../../src/core/types.ts';
import type { NodeInfo } from './attrs.ts';

export interface StoreObject {
  /** The full object name. */
  name: string;
  size: number;
  etag: string;
  contentType: string;
  /** When the bytes were written (PUT/COPY), ms since the epoch. */
  timestampMs: number;
  /** When the metadata last changed (POST), ms. */
  metaTimestampMs: number;
  /** X-Object-Meta-* with lower-case names. */
  meta: Metadata;
  /** System headers to keep when the bytes are rewritten (content-disposition, …). */
  headers: Record<string, string>;
}

export interface ContainerInfo {
  name: string;
  timestampMs: number;
  meta: Metadata;
}

export interface DirEntry {
  /** Last path segment. */
  name: string;
  kind: 'file' | 'dir';
}

export interface Page<T> {
  items: T[];
  /** Set when there may be more: pass it back as `marker`. */
  nextMarker?: string;
}

export interface SpaceInfo {
  /** quota-bytes of the mounted container (when it has one), else of the account. */
  quotaBytes?: number;
  /** Usage counted against that quota. */
  bytesUsed: number;
  objectCount: number;
}

/** Bytes to store: a spool file or a small buffer, readable more than once (retries). */
export interface PutSource {
  size: number;
  stream(): Readable;
  /** MD5 hex of the bytes (remote PUTs send it as ETag so the server verifies them). */
  md5(): Promise<string>;
  /**
   * The bytes as a finished local file, when they are in one: a local store may make it
   * the blob itself (no copy). The spool then gives the file up once the commit succeeded.
   */
  file?(): Promise<{ path: string; md5: string } | undefined>;
}

export interface PutOptions {
  contentType: string;
  meta: Metadata;
  headers?: Record<string, string>;
  /** False: may resolve before the commit is durable (close(2)); sync() makes it so (fsync(2)). */
  durable?: boolean;
}

/** Reads of one open, unmodified file. */
export interface FileReader {
  read(buf: Buffer, len: number, pos: number): Promise<number>;
  close(): void;
}

/** What changed, for the mount's caches (paths are computed by the listener). */
export type MountChange =
  | { kind: 'all' }
  | { kind: 'container'; container: string; deleted: boolean }
  /** `deleted`: the object went away (its implicit parent directories may have too). */
  | { kind: 'object'; container: string; name: string; deleted: boolean };

/**
 * What a change event means to the mount's caches: one of the core's feed events (local
 * mode) or a line of a gateway's change stream (remote mode, untrusted: fields checked).
 */
export function mountChangeOf(e: { kind?: unknown; op?: unknown; container?: unknown; object?: unknown }): MountChange | undefined {
  const deleted = e.op === 'delete';
  if (e.kind === 'account') return { kind: 'all' };
  if (typeof e.container !== 'string') return undefined;
  if (e.kind === 'container') return { kind: 'container', container: e.container, deleted };
  if (e.kind === 'object' && typeof e.object === 'string') return { kind: 'object', container: e.container, name: e.object, deleted };
  return undefined;
}

/** May return a promise: in local mode the writer is answered only after it settles. */
export type ChangeListener = (changes: readonly MountChange[]) => void | Promise<void>;

export interface MountBackend {
  readonly mode: 'local' | 'remote';
  /** Shown in the mount banner (AUTH_x, or the storage URL). */
  readonly describe: string;

  space(container?: string): Promise<SpaceInfo>;
  listContainers(marker: string | undefined, limit: number): Promise<Page<string>>;
  getContainer(container: string): Promise<ContainerInfo | undefined>;
  /** False when it already existed. */
  createContainer(container: string, meta: Metadata): Promise<boolean>;
  deleteContainer(container: string): Promise<void>;
  setContainerMeta(container: string, set: Metadata): Promise<void>;

  /** What `key` is: a file/symlink object, a directory (marker or implicit), or nothing. */
  stat(container: string, key: string): Promise<NodeInfo | undefined>;
  getObject(container: string, name: string): Promise<StoreObject | undefined>;
  /** Is there any object below `dir/` (its own marker included)? */
  hasChildren(container: string, dir: string): Promise<boolean>;
  listDir(container: string, dir: string, marker: string | undefined, limit: number): Promise<Page<DirEntry>>;

  openReader(container: string, obj: StoreObject): FileReader;
  /** The whole object, for copying it into a write spool. */
  openStream(container: string, obj: StoreObject): Promise<Readable>;
  putObject(container: string, name: string, src: PutSource, opts: PutOptions): Promise<StoreObject>;
  deleteObject(container: string, name: string): Promise<void>;
  /** Merges `set` into the object's metadata without touching its bytes. */
  setObjectMeta(container: string, name: string, set: Metadata): Promise<void>;

  /** A `dir/` marker typed application/directory; EEXIST when `dir` exists. */
  makeDirectory(container: string, dir: string, meta: Metadata): Promise<void>;
  /** Removes an empty directory's markers; ENOTEMPTY / ENOENT otherwise. */
  removeDirectory(container: string, dir: string): Promise<void>;
  /** Replaces an existing target object. */
  renameObject(container: string, from: string, to: string): Promise<void>;
  /** The target must not exist. */
  renameDirectory(container: string, from: string, to: string): Promise<void>;

  /** Makes every commit so far durable (fsync(2) after commits made with `durable: false`). */
  sync(): Promise<void>;
  /** Changes this backend knows of (its own writes; in local mode every commit anywhere). */
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

/** A PutSource over bytes in memory (symlinks, markers). */
export function bufferSource(bytes: Buffer): PutSource {
  return {
    size: bytes.length,
    stream: () => Readable.from(bytes.length ? [bytes] : []),
    md5: () => Promise.resolve(createHash('md5').update(bytes).digest('hex')),
  };
}
