/**
 * fuse-native's callback table over Filesystem and OpenFiles. Every operation is an
 * async call whose failure goes through toErrno — the only errno mapping.
 */
import { type Owner, mtimeMeta, modeMeta, toStat } from './attrs.ts';
import { isUnexpected, toErrno } from './errno.ts';
import type { Filesystem } from './filesystem.ts';
import type { OpenFiles } from './files.ts';
import type { DoneCallback, FuseOperations, ValueCallback } from './fuse-native.d.ts';

export interface OpsOptions {
  /** Whether the binding delivers the real mtime to utimens (see native.ts). */
  utimensFixed: boolean;
  log: (msg: string) => void;
  trace?: boolean;
  /** Told of every path whose attributes went to the kernel (it may cache them). */
  answered?: (path: string) => void;
  /** Told of every file opened or created (the kernel may keep its pages). */
  opened?: (path: string) => void;
  /** Told of every rename this mount made (the kernel moved what it holds). */
  renamed?: (from: string, to: string) => void;
}

export function buildOperations(fs: Filesystem, files: OpenFiles, owner: Owner, opts: OpsOptions): FuseOperations {
  const fail = (op: string, path: string, err: unknown): number => {
    const errno = toErrno(err);
    if (isUnexpected(errno)) opts.log(`${op} ${path}: ${(err as Error)?.message ?? String(err)}`);
    return errno;
  };
  // SWIFTGATE_FUSE_TRACE=1 logs every operation with its duration and result.
  const trace = opts.trace
    ? <T>(op: string, path: string, p: Promise<T>): Promise<T> => {
        const t0 = performance.now();
        const end = (r: string) => opts.log(`${op} ${path} ${r} ${(performance.now() - t0).toFixed(2)}ms`);
        p.then((v) => end(typeof v === 'number' ? String(v) : 'ok'), (e: unknown) => end(`error ${toErrno(e)}`));
        return p;
      }
    : <T>(_op: string, _path: string, p: Promise<T>): Promise<T> => p;
  /** Result code: 0, or a byte count for read/write. */
  const done = (op: string, path: string, cb: DoneCallback, p: Promise<number | void>): void => {
    trace(op, path, p).then(
      (r) => cb(typeof r === 'number' ? r : 0),
      (err: unknown) => cb(fail(op, path, err)),
    );
  };
  const opened =
    (path: string) =>
    (fh: number): number => {
      opts.opened?.(path);
      return fh;
    };
  const value = <T>(op: string, path: string, cb: ValueCallback<T>, p: Promise<T>): void => {
    trace(op, path, p).then(
      (v) => cb(0, v),
      (err: unknown) => cb(fail(op, path, err)),
    );
  };

  return {
    init: (cb) => cb(0),
    statfs: (path, cb) => value('statfs', path, cb, fs.statfs()),
    getattr: (path, cb) =>
      value(
        'getattr',
        path,
        cb,
        fs.require(path).then((n) => {
          opts.answered?.(path);
          return toStat(n, owner);
        }),
      ),
    readdir: (path, cb) => value('readdir', path, cb, fs.readdir(path)),
    open: (path, flags, cb) => value('open', path, cb, files.open(path, flags).then(opened(path))),
    create: (path, mode, cb) =>
      value('create', path, cb, files.create(path, { mode: modeMeta(mode), mtime: mtimeMeta(Date.now()) }).then(opened(path))),
    read: (path, fd, buf, len, pos, cb) => done('read', path, cb, files.read(fd, buf, len, pos)),
    write: (path, fd, buf, len, pos, cb) => done('write', path, cb, files.write(fd, buf, len, pos)),
    flush: (path, fd, cb) => done('flush', path, cb, files.flush(fd)),
    fsync: (path, _datasync, fd, cb) => done('fsync', path, cb, files.fsync(fd)),
    release: (path, fd, cb) => done('release', path, cb, files.release(fd)),
    truncate: (path, size, cb) => done('truncate', path, cb, files.truncate(path, size)),
    ftruncate: (path, fd, size, cb) => done('ftruncate', path, cb, files.ftruncate(fd, size)),
    // Without the binding fix the second value is the atime again; atime is then the best we have.
    utimens: (path, atime, mtime, cb) => done('utimens', path, cb, fs.utimens(path, opts.utimensFixed ? mtime : atime)),
    chmod: (path, mode, cb) => done('chmod', path, cb, fs.chmod(path, mode)),
    chown: (path, uid, gid, cb) => done('chown', path, cb, fs.chown(path, uid, gid)),
    unlink: (path, cb) => done('unlink', path, cb, fs.unlink(path)),
    rename: (src, dest, cb) => done('rename', src, cb, fs.rename(src, dest).then(() => opts.renamed?.(src, dest))),
    mkdir: (path, mode, cb) => done('mkdir', path, cb, fs.mkdir(path, mode)),
    rmdir: (path, cb) => done('rmdir', path, cb, fs.rmdir(path)),
    symlink: (target, path, cb) => done('symlink', path, cb, fs.symlink(target, path)),
    readlink: (path, cb) => value('readlink', path, cb, fs.readlink(path)),
  };
}
