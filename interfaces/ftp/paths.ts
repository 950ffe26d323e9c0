/**
 * The FTP view's virtual paths. `/` is the user's account; its directories are
 * containers; below them, `/`-separated object names. A path is kept as its segments
 * and resolved here only: `..` stops at `/`, so no argument (relative, absolute, with
 * `.`/`..`, or "encoded" — names are never URL-decoded) reaches outside the account.
 */
import { reply } from './replies.ts';

export type FtpPath = readonly string[];

export const ROOT: FtpPath = [];

/** Resolves a client-supplied path against the working directory. */
export function resolvePath(cwd: FtpPath, arg: string): FtpPath {
  if (arg.includes('\0')) throw reply.badName('File name not allowed: it contains a NUL byte.');
  const out: string[] = arg.startsWith('/') ? [] : [...cwd];
  for (const seg of arg.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out;
}

/** "/a/b" as shown to the client. */
export function formatPath(path: FtpPath): string {
  return `/${path.join('/')}`;
}

export type Location =
  | { kind: 'root' }
  | { kind: 'container'; container: string }
  /** `key` is the object name (or pseudo-directory name, without trailing '/'). */
  | { kind: 'object'; container: string; key: string };

export function locate(path: FtpPath): Location {
  const [container, ...rest] = path;
  if (container === undefined) return { kind: 'root' };
  if (rest.length === 0) return { kind: 'container', container };
  return { kind: 'object', container, key: rest.join('/') };
}

export function parentOf(path: FtpPath): FtpPath {
  return path.slice(0, -1);
}

export function baseName(path: FtpPath): string {
  return path[path.length - 1] ?? '/';
}
