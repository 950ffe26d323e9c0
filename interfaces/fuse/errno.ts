/**
 * The one place where failures become errno values (negative, as FUSE wants them):
 * core error codes (local mode), HTTP statuses (remote mode), POSIX conditions the FUSE
 * view detects itself, and local I/O errors of the write spool. Anything unknown is
 * EIO: an answer, never a hang.
 */
import { ErrorCodes, type ErrorCode, isSwiftgateError } from '../../src/core/errors.ts';
import { RemoteError } from './remote/errors.ts';

export const Errno = {
  EPERM: -1,
  ENOENT: -2,
  EIO: -5,
  EBADF: -9,
  EAGAIN: -11,
  EACCES: -13,
  EBUSY: -16,
  EEXIST: -17,
  EXDEV: -18,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  EFBIG: -27,
  ENOSPC: -28,
  ENAMETOOLONG: -36,
  ENOSYS: -38,
  ENOTEMPTY: -39,
  EDQUOT: -122,
} as const;

/** A POSIX condition found by the FUSE view itself (not by the core). */
export class FsError extends Error {
  readonly errno: number;
  constructor(errno: number, message: string) {
    super(message);
    this.name = 'FsError';
    this.errno = errno;
  }
}

export const fsError = (errno: number, message: string): FsError => new FsError(errno, message);

const FROM_CORE: Record<ErrorCode, number> = {
  [ErrorCodes.NOT_FOUND]: Errno.ENOENT,
  [ErrorCodes.ACCOUNT_NOT_FOUND]: Errno.ENOENT,
  [ErrorCodes.CONTAINER_NOT_FOUND]: Errno.ENOENT,
  [ErrorCodes.OBJECT_NOT_FOUND]: Errno.ENOENT,
  [ErrorCodes.ALREADY_EXISTS]: Errno.EEXIST,
  [ErrorCodes.PRECONDITION_FAILED]: Errno.EEXIST,
  [ErrorCodes.CONTAINER_NOT_EMPTY]: Errno.ENOTEMPTY,
  [ErrorCodes.ACCOUNT_NOT_EMPTY]: Errno.ENOTEMPTY,
  [ErrorCodes.DIRECTORY_NOT_EMPTY]: Errno.ENOTEMPTY,
  [ErrorCodes.INVALID_NAME]: Errno.EINVAL,
  [ErrorCodes.NAME_TOO_LONG]: Errno.ENAMETOOLONG,
  [ErrorCodes.INVALID_ARGUMENT]: Errno.EINVAL,
  [ErrorCodes.METADATA_TOO_LARGE]: Errno.ENOSPC,
  [ErrorCodes.OBJECT_TOO_LARGE]: Errno.EFBIG,
  [ErrorCodes.QUOTA_EXCEEDED]: Errno.EDQUOT,
  [ErrorCodes.RANGE_NOT_SATISFIABLE]: Errno.EINVAL,
  [ErrorCodes.UNAUTHORIZED]: Errno.EACCES,
  [ErrorCodes.FORBIDDEN]: Errno.EACCES,
  // Lost a race with a concurrent writer (conditional commit): the caller may retry.
  [ErrorCodes.CONFLICT]: Errno.EAGAIN,
  [ErrorCodes.ETAG_MISMATCH]: Errno.EIO,
  [ErrorCodes.SIZE_MISMATCH]: Errno.EIO,
  [ErrorCodes.UPLOAD_ABORTED]: Errno.EIO,
  [ErrorCodes.BACKEND_UNAVAILABLE]: Errno.EIO,
  [ErrorCodes.STORE_LOCKED]: Errno.EIO,
  [ErrorCodes.INTERNAL]: Errno.EIO,
};

/** Node's own I/O errors (the spool lives on a local disk). */
const FROM_NODE: Record<string, number> = {
  ENOSPC: Errno.ENOSPC,
  EDQUOT: Errno.EDQUOT,
  EFBIG: Errno.EFBIG,
  EACCES: Errno.EIO, // the spool directory, not the caller's file
};

/** Statuses of a Swift endpoint (remote mode). Unlisted: 5xx, no answer (0), the rest → EIO. */
const FROM_HTTP: Record<number, number> = {
  400: Errno.EINVAL,
  401: Errno.EACCES, // after one re-authentication failed
  403: Errno.EACCES,
  404: Errno.ENOENT,
  409: Errno.ENOTEMPTY, // Swift's only 409s: deleting a non-empty container/directory
  411: Errno.EINVAL,
  412: Errno.EEXIST,
  413: Errno.EFBIG, // 413 with "quota" in the body: EDQUOT, below
  416: Errno.EINVAL,
  422: Errno.EIO, // ETag mismatch: the bytes were damaged on the way
  507: Errno.ENOSPC,
};

function fromHttp(err: RemoteError): number {
  if (err.status === 413 && /quota/i.test(err.body)) return Errno.EDQUOT;
  return FROM_HTTP[err.status] ?? Errno.EIO;
}

export function toErrno(err: unknown): number {
  if (err instanceof FsError) return err.errno;
  if (isSwiftgateError(err)) return FROM_CORE[err.code] ?? Errno.EIO;
  if (err instanceof RemoteError) return fromHttp(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in FROM_NODE) return FROM_NODE[code] ?? Errno.EIO;
  return Errno.EIO;
}

/** EIO means "something broke", worth a log line; the rest are ordinary answers. */
export function isUnexpected(errno: number): boolean {
  return errno === Errno.EIO;
}
