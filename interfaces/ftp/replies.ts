/**
 * FTP replies: the one place where failures become reply codes (RFC 959 §4.2), and
 * the formatting rules for reply text (single/multi-line, quoted paths).
 */
import { ErrorCodes, type ErrorCode, isSwiftgateError } from '../../src/core/errors.ts';

/** A failure that already knows its FTP reply. Handlers throw it; the session sends it. */
export class FtpReply extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'FtpReply';
    this.code = code;
  }
}

export const reply = {
  notLoggedIn: () => new FtpReply(530, 'Please log in with USER and PASS.'),
  denied: () => new FtpReply(550, 'Permission denied.'),
  noSuchFile: (path: string) => new FtpReply(550, `${path}: No such file or directory.`),
  notAFile: (path: string) => new FtpReply(550, `${path}: Not a plain file.`),
  notADirectory: (path: string) => new FtpReply(550, `${path}: Not a directory.`),
  badName: (message: string) => new FtpReply(553, message),
  syntax: (message: string) => new FtpReply(501, message),
  badSequence: (message: string) => new FtpReply(503, message),
  noDataConnection: (message: string) => new FtpReply(425, message),
  transferAborted: (message = 'Connection closed; transfer aborted.') => new FtpReply(426, message),
};

/** The core's error codes as FTP replies (RFC 959 codes; 552 for quota as vsftpd/ProFTPD do). */
const CORE_REPLIES: Record<ErrorCode, number> = {
  [ErrorCodes.NOT_FOUND]: 550,
  [ErrorCodes.ACCOUNT_NOT_FOUND]: 550,
  [ErrorCodes.CONTAINER_NOT_FOUND]: 550,
  [ErrorCodes.OBJECT_NOT_FOUND]: 550,
  [ErrorCodes.ALREADY_EXISTS]: 550,
  [ErrorCodes.CONTAINER_NOT_EMPTY]: 550,
  [ErrorCodes.ACCOUNT_NOT_EMPTY]: 550,
  [ErrorCodes.DIRECTORY_NOT_EMPTY]: 550,
  [ErrorCodes.INVALID_NAME]: 553,
  [ErrorCodes.NAME_TOO_LONG]: 553,
  [ErrorCodes.INVALID_ARGUMENT]: 553,
  [ErrorCodes.METADATA_TOO_LARGE]: 552,
  [ErrorCodes.OBJECT_TOO_LARGE]: 552,
  [ErrorCodes.ETAG_MISMATCH]: 451,
  [ErrorCodes.SIZE_MISMATCH]: 426,
  [ErrorCodes.PRECONDITION_FAILED]: 550,
  [ErrorCodes.QUOTA_EXCEEDED]: 552,
  [ErrorCodes.RANGE_NOT_SATISFIABLE]: 554,
  [ErrorCodes.UPLOAD_ABORTED]: 426,
  [ErrorCodes.UNAUTHORIZED]: 530,
  [ErrorCodes.FORBIDDEN]: 550,
  [ErrorCodes.CONFLICT]: 450,
  [ErrorCodes.BACKEND_UNAVAILABLE]: 451,
  [ErrorCodes.STORE_LOCKED]: 451,
  [ErrorCodes.INTERNAL]: 451,
};

/** Core messages that are too terse for someone looking at FileZilla's log. */
function coreText(code: ErrorCode, message: string): string {
  switch (code) {
    case ErrorCodes.CONTAINER_NOT_EMPTY:
    case ErrorCodes.DIRECTORY_NOT_EMPTY:
      return `Directory not empty (${message}): delete its contents first.`;
    case ErrorCodes.QUOTA_EXCEEDED:
      return `Exceeded storage allocation: ${message}`;
    case ErrorCodes.FORBIDDEN:
    case ErrorCodes.UNAUTHORIZED:
      return 'Permission denied.';
    case ErrorCodes.CONFLICT:
      return `Changed concurrently, try again (${message}).`;
    case ErrorCodes.INTERNAL:
    case ErrorCodes.BACKEND_UNAVAILABLE:
    case ErrorCodes.STORE_LOCKED:
      return 'Local error in processing; try again later.';
    default:
      return message.endsWith('.') ? message : `${message}.`;
  }
}

export interface MappedReply {
  code: number;
  text: string;
  /** Not a client mistake: worth a log line. */
  unexpected: boolean;
}

/** Any thrown value → the reply to send. Never exposes a stack trace. */
export function replyForError(err: unknown): MappedReply {
  if (err instanceof FtpReply) return { code: err.code, text: err.message, unexpected: false };
  if (isSwiftgateError(err)) {
    const code = CORE_REPLIES[err.code];
    return { code, text: coreText(err.code, err.message), unexpected: code === 451 };
  }
  return { code: 451, text: 'Local error in processing; try again later.', unexpected: true };
}

/** Reply text must stay on one line: names may hold CR/LF. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** RFC 959 §7 "257" quoting: embedded double quotes are doubled. */
export function quotePath(path: string): string {
  return `"${oneLine(path).replace(/"/g, '""')}"`;
}

/** `code text` or a multi-line reply `code-first … code last` (RFC 959 §4.2). */
export function formatReply(code: number, lines: readonly string[]): string {
  if (lines.length <= 1) return `${code} ${oneLine(lines[0] ?? '')}\r\n`;
  const out = [`${code}-${oneLine(lines[0] ?? '')}`];
  // Inner lines start with a space so no client mistakes them for the closing line.
  for (const l of lines.slice(1, -1)) out.push(` ${oneLine(l)}`);
  out.push(`${code} ${oneLine(lines[lines.length - 1] ?? '')}`);
  return `${out.join('\r\n')}\r\n`;
}
