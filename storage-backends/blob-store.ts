/**
 * Where bytes live. A blob is immutable once written: an overwrite of an object writes
 * a new blob and swaps the metadata pointer, so a reader sees the old bytes or the new
 * ones, never a mix. Implementations: local disk (default) and S3-compatible stores.
 */
import type { Readable } from 'node:stream';

export interface BlobWriteResult {
  blobId: string;
  size: number;
  etag: string; // MD5 hex of the bytes, computed while streaming
}

export interface BlobWriteOptions {
  /** Expected size; a different count fails the write with SIZE_MISMATCH. */
  expectedSize?: number;
  /** Refuse (OBJECT_TOO_LARGE) as soon as more than this many bytes arrive. */
  maxSize?: number;
  signal?: AbortSignal;
}

export interface ByteRange {
  start: number; // inclusive
  end: number; // inclusive
}

export interface BlobStat {
  size: number;
}

export interface BlobStore {
  /** A new, unique, URL- and path-safe id for a blob about to be written. */
  newBlobId(): string;
  /**
   * Streams `source` into the blob `blobId`, durably (fsync or the backend's equivalent)
   * before resolving. On any failure nothing is left behind under `blobId`.
   */
  write(blobId: string, source: Readable, options?: BlobWriteOptions): Promise<BlobWriteResult>;
  /**
   * Optional: makes a finished local file of exactly `size` bytes the blob `blobId` without
   * copying it (a hard link), durably. False when it cannot (another filesystem, a size
   * that differs): the caller then streams the file through write(). The file must not
   * change afterwards: it now is the blob.
   */
  adopt?(blobId: string, path: string, size: number): Promise<boolean>;
  /** Opens the blob for reading, optionally a byte range. Fails with NOT_FOUND if absent. */
  read(blobId: string, range?: ByteRange): Promise<Readable>;
  stat(blobId: string): Promise<BlobStat | undefined>;
  /** Deletes the blob; deleting a missing blob is not an error. */
  delete(blobId: string): Promise<void>;
  /** Every blob id in the store (fsck only). */
  list(): AsyncIterable<string>;
  /** Removes leftovers of interrupted writes (temp files, incomplete multipart uploads). */
  cleanupIncomplete(): Promise<number>;
  close(): Promise<void>;
}
