/**
 * The part of fuse-native 2.2.6 (untyped CommonJS) that swiftgate uses. Callbacks take
 * a result code first: 0 or a byte count on success, a negative errno on failure.
 * Times cross the binding as milliseconds since the epoch.
 */

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink?: number;
  blksize?: number;
  blocks?: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export type DoneCallback = (code: number) => void;
export type ValueCallback<T> = (code: number, value?: T) => void;

export interface FuseOperations {
  init?(cb: DoneCallback): void;
  statfs?(path: string, cb: ValueCallback<FuseStatfs>): void;
  getattr?(path: string, cb: ValueCallback<FuseStat>): void;
  readdir?(path: string, cb: (code: number, names?: string[]) => void): void;
  open?(path: string, flags: number, cb: ValueCallback<number>): void;
  create?(path: string, mode: number, cb: ValueCallback<number>): void;
  read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: DoneCallback): void;
  write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: DoneCallback): void;
  flush?(path: string, fd: number, cb: DoneCallback): void;
  fsync?(path: string, datasync: number, fd: number, cb: DoneCallback): void;
  release?(path: string, fd: number, cb: DoneCallback): void;
  truncate?(path: string, size: number, cb: DoneCallback): void;
  ftruncate?(path: string, fd: number, size: number, cb: DoneCallback): void;
  utimens?(path: string, atime: number, mtime: number, cb: DoneCallback): void;
  chmod?(path: string, mode: number, cb: DoneCallback): void;
  chown?(path: string, uid: number, gid: number, cb: DoneCallback): void;
  unlink?(path: string, cb: DoneCallback): void;
  rename?(src: string, dest: string, cb: DoneCallback): void;
  mkdir?(path: string, mode: number, cb: DoneCallback): void;
  rmdir?(path: string, cb: DoneCallback): void;
  symlink?(target: string, path: string, cb: DoneCallback): void;
  readlink?(path: string, cb: ValueCallback<string>): void;
}

/** Options fuse-native turns into `-o` mount options (camelCase of FUSE's names). */
export interface FuseOptions {
  debug?: boolean;
  force?: boolean;
  mkdir?: boolean;
  allowOther?: boolean;
  autoUnmount?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  maxRead?: number;
  /** libfuse `kernel_cache`: every open keeps the inode's page cache (keep_cache). */
  kernelCache?: boolean;
  /** Seconds; passed as strings so that "0" survives fuse-native's truthiness check. */
  attrTimeout?: string;
  entryTimeout?: string;
  /** Milliseconds per operation before fuse-native answers ETIMEDOUT; false = never. */
  timeout?: number | false | Partial<Record<keyof FuseOperations | 'default', number | false>>;
}

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

export interface FuseConstructor {
  new (mountpoint: string, ops: FuseOperations, opts?: FuseOptions): FuseInstance;
  unmount(mountpoint: string, cb: (err: Error | null) => void): void;
}
