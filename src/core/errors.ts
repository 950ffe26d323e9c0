/**
 * The one error catalogue of swiftgate's core (modelled on fastify's lib/errors.js):
 * every failure the core can report has a stable code. Each view maps codes to its own
 * vocabulary (HTTP status, FTP reply, errno) in exactly one place.
 */
export const ErrorCodes = {
  NOT_FOUND: 'SG_NOT_FOUND',
  ACCOUNT_NOT_FOUND: 'SG_ACCOUNT_NOT_FOUND',
  CONTAINER_NOT_FOUND: 'SG_CONTAINER_NOT_FOUND',
  OBJECT_NOT_FOUND: 'SG_OBJECT_NOT_FOUND',
  ALREADY_EXISTS: 'SG_ALREADY_EXISTS',
  CONTAINER_NOT_EMPTY: 'SG_CONTAINER_NOT_EMPTY',
  ACCOUNT_NOT_EMPTY: 'SG_ACCOUNT_NOT_EMPTY',
  DIRECTORY_NOT_EMPTY: 'SG_DIRECTORY_NOT_EMPTY',
  INVALID_NAME: 'SG_INVALID_NAME',
  NAME_TOO_LONG: 'SG_NAME_TOO_LONG',
  INVALID_ARGUMENT: 'SG_INVALID_ARGUMENT',
  METADATA_TOO_LARGE: 'SG_METADATA_TOO_LARGE',
  OBJECT_TOO_LARGE: 'SG_OBJECT_TOO_LARGE',
  ETAG_MISMATCH: 'SG_ETAG_MISMATCH',
  SIZE_MISMATCH: 'SG_SIZE_MISMATCH',
  PRECONDITION_FAILED: 'SG_PRECONDITION_FAILED',
  QUOTA_EXCEEDED: 'SG_QUOTA_EXCEEDED',
  RANGE_NOT_SATISFIABLE: 'SG_RANGE_NOT_SATISFIABLE',
  UPLOAD_ABORTED: 'SG_UPLOAD_ABORTED',
  UNAUTHORIZED: 'SG_UNAUTHORIZED',
  FORBIDDEN: 'SG_FORBIDDEN',
  CONFLICT: 'SG_CONFLICT',
  BACKEND_UNAVAILABLE: 'SG_BACKEND_UNAVAILABLE',
  STORE_LOCKED: 'SG_STORE_LOCKED',
  INTERNAL: 'SG_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SwiftgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwiftgateError';
    this.code = code;
  }
}

export function isSwiftgateError(err: unknown, code?: ErrorCode): err is SwiftgateError {
  return err instanceof SwiftgateError && (code === undefined || err.code === code);
}

/** Small constructors so call sites read as sentences. */
export const errors = {
  notFound: (what: string) => new SwiftgateError(ErrorCodes.NOT_FOUND, `${what} not found`),
  accountNotFound: (account: string) => new SwiftgateError(ErrorCodes.ACCOUNT_NOT_FOUND, `account ${account} not found`),
  containerNotFound: (container: string) =>
    new SwiftgateError(ErrorCodes.CONTAINER_NOT_FOUND, `container ${container} not found`),
  objectNotFound: (name: string) => new SwiftgateError(ErrorCodes.OBJECT_NOT_FOUND, `object ${name} not found`),
  alreadyExists: (what: string) => new SwiftgateError(ErrorCodes.ALREADY_EXISTS, `${what} already exists`),
  containerNotEmpty: (container: string) =>
    new SwiftgateError(ErrorCodes.CONTAINER_NOT_EMPTY, `container ${container} is not empty`),
  accountNotEmpty: (account: string) =>
    new SwiftgateError(ErrorCodes.ACCOUNT_NOT_EMPTY, `account ${account} still has containers`),
  directoryNotEmpty: (dir: string) => new SwiftgateError(ErrorCodes.DIRECTORY_NOT_EMPTY, `directory ${dir} is not empty`),
  invalidName: (message: string) => new SwiftgateError(ErrorCodes.INVALID_NAME, message),
  nameTooLong: (message: string) => new SwiftgateError(ErrorCodes.NAME_TOO_LONG, message),
  invalidArgument: (message: string) => new SwiftgateError(ErrorCodes.INVALID_ARGUMENT, message),
  metadataTooLarge: (message: string) => new SwiftgateError(ErrorCodes.METADATA_TOO_LARGE, message),
  objectTooLarge: (message: string) => new SwiftgateError(ErrorCodes.OBJECT_TOO_LARGE, message),
  etagMismatch: (expected: string, actual: string) =>
    new SwiftgateError(ErrorCodes.ETAG_MISMATCH, `ETag ${expected} does not match the uploaded bytes (${actual})`),
  sizeMismatch: (expected: number, actual: number) =>
    new SwiftgateError(ErrorCodes.SIZE_MISMATCH, `expected ${expected} bytes, received ${actual}`),
  preconditionFailed: (message: string) => new SwiftgateError(ErrorCodes.PRECONDITION_FAILED, message),
  quotaExceeded: (message: string) => new SwiftgateError(ErrorCodes.QUOTA_EXCEEDED, message),
  rangeNotSatisfiable: () => new SwiftgateError(ErrorCodes.RANGE_NOT_SATISFIABLE, 'requested range not satisfiable'),
  uploadAborted: (message = 'upload was cut off before it completed') =>
    new SwiftgateError(ErrorCodes.UPLOAD_ABORTED, message),
  unauthorized: (message = 'authentication required') => new SwiftgateError(ErrorCodes.UNAUTHORIZED, message),
  forbidden: (message = 'access denied') => new SwiftgateError(ErrorCodes.FORBIDDEN, message),
  conflict: (message: string) => new SwiftgateError(ErrorCodes.CONFLICT, message),
  backendUnavailable: (message: string, cause?: unknown) =>
    new SwiftgateError(ErrorCodes.BACKEND_UNAVAILABLE, message, { cause }),
  storeLocked: (message: string) => new SwiftgateError(ErrorCodes.STORE_LOCKED, message),
  internal: (message: string, cause?: unknown) => new SwiftgateError(ErrorCodes.INTERNAL, message, { cause }),
};
