/**
 * Records of the namespace: accounts, containers, objects. Plain data, no behaviour:
 * they cross process boundaries (worker ⇄ metadata host) and database rows unchanged.
 *
 * Timestamps are Swift X-Timestamp strings ("1700000000.12345"): seconds since the
 * epoch with five decimals, ordered as strings of equal width.
 */

/** Lower-cased metadata names without their `X-…-Meta-` prefix → values. */
export type Metadata = Record<string, string>;

export interface AccountRecord {
  name: string; // "AUTH_test"
  createdAt: string;
  putTimestamp: string;
  meta: Metadata; // X-Account-Meta-*
  /** Settings only a reseller admin may change (e.g. quota-bytes). */
  sysmeta: Metadata;
  containerCount: number;
  objectCount: number;
  bytesUsed: number;
}

export interface ContainerRecord {
  account: string;
  name: string;
  createdAt: string;
  putTimestamp: string;
  meta: Metadata; // X-Container-Meta-*
  /** X-Container-Read / X-Container-Write in Swift's ACL syntax, as given. */
  readAcl: string;
  writeAcl: string;
  /** Other container settings Swift keeps outside user metadata (X-Versions-Location, …). */
  sysmeta: Metadata;
  policy: string;
  objectCount: number;
  bytesUsed: number;
}

export interface ObjectRecord {
  account: string;
  container: string;
  name: string;
  size: number;
  etag: string; // MD5 hex of the bytes
  contentType: string;
  /** X-Timestamp of the data (PUT/COPY). */
  timestamp: string;
  /** X-Timestamp of the last metadata change (POST); equals `timestamp` after a PUT. Last-Modified derives from it. */
  metaTimestamp: string;
  /** Where the bytes live; never shown to clients. */
  blobId: string;
  /** The bytes live in the metadata store next to this record (small objects), not in the blob store. */
  inline?: boolean;
  meta: Metadata; // X-Object-Meta-*
  /** Stored system headers (lower-case names): content-disposition, content-encoding, cache-control, … */
  headers: Record<string, string>;
  /** Unix seconds after which the object is gone (X-Delete-At). */
  deleteAt?: number;
}

export const DIRECTORY_CONTENT_TYPE = 'application/directory';

/** Swift listing parameters, already validated. */
export interface ListQuery {
  prefix?: string;
  delimiter?: string;
  marker?: string;
  endMarker?: string;
  limit: number;
  reverse?: boolean;
  /** Swift's `path`: direct children of a pseudo path (sets prefix and delimiter `/`). */
  path?: string;
}

export interface SubdirEntry {
  kind: 'subdir';
  name: string;
}

export interface ObjectListEntry {
  kind: 'object';
  name: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: string; // X-Timestamp
}

export interface ContainerListEntry {
  kind: 'container';
  name: string;
  objectCount: number;
  bytesUsed: number;
  lastModified: string; // X-Timestamp
}

export type ObjectListing = Array<ObjectListEntry | SubdirEntry>;
export type ContainerListing = Array<ContainerListEntry | SubdirEntry>;

/** Metadata change: set some names, remove others. */
export interface MetadataPatch {
  set?: Metadata;
  remove?: string[];
  /** Replace all user metadata with `set` (object POST semantics). */
  replace?: boolean;
}

/** One entry of "what is in directory d/" as the file-like views (FTP, FUSE) see it. */
export interface DirectoryEntry {
  /** Last path segment, no slashes. */
  name: string;
  kind: 'directory' | 'file';
  /** The object behind a file, or behind a directory marker if there is one. */
  object?: ObjectListEntry;
}
