/**
 * POSIX attributes kept as object metadata, so they survive round trips (rsync -a,
 * cp -p, git) and are visible to Swift clients. Names follow rclone/swiftclient where a
 * convention exists:
 *   mtime  seconds since the epoch with a fraction ("1700000000.123"), X-Object-Meta-Mtime
 *   mode   permission bits in octal ("644")
 *   uid, gid  decimal
 * Objects without them get the object's timestamp, 0644/0755 and the mounting user.
 */
import { DIRECTORY_CONTENT_TYPE, type Metadata } from '../../src/core/types.ts';
import type { StoreObject } from './backend.ts';
import type { FuseStat } from './fuse-native.d.ts';

export const SYMLINK_CONTENT_TYPE = 'application/x-symlink';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** Preferred I/O size: one FUSE write with big_writes. */
const BLKSIZE = 128 * 1024;

export interface Owner {
  uid: number;
  gid: number;
}

export type NodeKind = 'file' | 'dir' | 'symlink';

/** What a path is, as getattr reports it. */
export interface NodeInfo {
  kind: NodeKind;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  meta: Metadata;
}

/** Swift X-Timestamp ("1700000000.12345") → milliseconds. */
export function timestampMs(ts: string): number {
  const n = Number(ts);
  return Number.isFinite(n) ? Math.round(n * 1000) : 0;
}

export function mtimeMeta(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function modeMeta(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/** A zero-byte object typed application/directory (`d/` or `d`) is a directory marker. */
export function isMarker(obj: { contentType: string; size: number }): boolean {
  return obj.contentType === DIRECTORY_CONTENT_TYPE && obj.size === 0;
}

export function kindOf(obj: StoreObject): NodeKind {
  return isMarker(obj) ? 'dir' : obj.contentType === SYMLINK_CONTENT_TYPE ? 'symlink' : 'file';
}

export function nodeOfObject(obj: StoreObject, kind: NodeKind = kindOf(obj)): NodeInfo {
  return { kind, size: kind === 'dir' ? 0 : obj.size, mtimeMs: metaMtime(obj.meta) ?? obj.timestampMs, ctimeMs: obj.metaTimestampMs, meta: obj.meta };
}

/** A directory without a marker, known only by the objects below it. */
export function implicitDir(mtimeMs: number): NodeInfo {
  return { kind: 'dir', size: 0, mtimeMs, ctimeMs: mtimeMs, meta: {} };
}

export function metaMtime(meta: Metadata): number | undefined {
  const v = meta.mtime;
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : undefined;
}

function metaInt(v: string | undefined, radix: number): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number.parseInt(v, radix);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function toStat(node: NodeInfo, owner: Owner): FuseStat {
  const type = node.kind === 'dir' ? S_IFDIR : node.kind === 'symlink' ? S_IFLNK : S_IFREG;
  const fallbackPerm = node.kind === 'dir' ? 0o755 : node.kind === 'symlink' ? 0o777 : 0o644;
  const perm = node.kind === 'symlink' ? 0o777 : (metaInt(node.meta.mode, 8) ?? fallbackPerm) & 0o7777;
  return {
    mode: type | perm,
    uid: metaInt(node.meta.uid, 10) ?? owner.uid,
    gid: metaInt(node.meta.gid, 10) ?? owner.gid,
    size: node.size,
    // 1 for directories: "subdirectories unknown", so find(1) never skips any.
    nlink: 1,
    blksize: BLKSIZE,
    blocks: Math.ceil(node.size / 512),
    atime: node.mtimeMs,
    mtime: node.mtimeMs,
    ctime: Math.max(node.ctimeMs, node.mtimeMs),
  };
}
