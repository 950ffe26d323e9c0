/**
 * What a request is about, read from the RAW url: fastify's router would decode %2F and
 * change what a name means. Swift decodes the whole path, then splits it on '/', so an
 * encoded slash in the object part is simply part of the object name.
 */
import { HttpError } from './errors.ts';

export interface SwiftPath {
  version: string;
  account: string;
  container?: string;
  object?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decodes and UTF-8-decodes; undefined when the bytes are not valid UTF-8. */
export function decodeComponent(raw: string, plusIsSpace = false): string | undefined {
  let s = plusIsSpace && raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  // eslint-disable-next-line no-control-regex
  if (!s.includes('%') && /^[\x00-\x7f]*$/.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length + 0 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else if (c < 0x100) {
      bytes.push(c); // Node hands us raw bytes of the request line as latin1
    } else {
      for (const b of Buffer.from(s.charAt(i), 'utf8')) bytes.push(b);
    }
  }
  try {
    s = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  return s;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Splits a raw request target into its path and query string. */
export function splitUrl(rawUrl: string): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  return q === -1 ? { path: rawUrl, query: '' } : { path: rawUrl.slice(0, q), query: rawUrl.slice(q + 1) };
}

const INVALID_UTF8 = (): HttpError => new HttpError(412, 'Invalid UTF8 or contains NULL');

/**
 * `/v1/<account>[/<container>[/<object…>]]` → its parts. Invalid UTF-8 or NUL → 412,
 * like Swift's proxy; an empty container or object part means "not given" as in Swift.
 */
export function parseSwiftPath(rawPath: string): SwiftPath | undefined {
  const path = decodeComponent(rawPath);
  if (path === undefined || path.includes('\0')) throw INVALID_UTF8();
  if (!path.startsWith('/')) return undefined;
  // split_path(path, 1, 4, rest_with_last=True)
  const first = path.indexOf('/', 1);
  const version = first === -1 ? path.slice(1) : path.slice(1, first);
  if (first === -1) return { version, account: '' };
  const second = path.indexOf('/', first + 1);
  const account = second === -1 ? path.slice(first + 1) : path.slice(first + 1, second);
  if (second === -1) return { version, account };
  const third = path.indexOf('/', second + 1);
  const container = third === -1 ? path.slice(second + 1) : path.slice(second + 1, third);
  const object = third === -1 ? '' : path.slice(third + 1);
  const out: SwiftPath = { version, account };
  if (container) out.container = container;
  if (container && object) out.object = object;
  return out;
}

/** Query parameters as Python's parse_qsl(keep_blank_values=True) sees them (last one wins). */
export function parseQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!query) return out;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decodeComponent(eq === -1 ? pair : pair.slice(0, eq), true) ?? '\ufffd';
    const v = eq === -1 ? '' : (decodeComponent(pair.slice(eq + 1), true) ?? invalidParam());
    out.set(k, v);
  }
  return out;
}

// Swift's get_param refuses parameters that are not valid UTF-8.
function invalidParam(): never {
  throw new HttpError(400, 'Invalid UTF8 or contains NULL');
}
