/**
 * Swift container ACLs (X-Container-Read / X-Container-Write), with the syntax and
 * semantics of swift.common.middleware.acl: comma-separated entries, each a grantee
 * ("account", "account:user", a group) or a referrer rule (".r:host", ".r:-host",
 * ".r:.domain", ".r:*"), plus ".rlistings" to open listings to referrer-allowed readers.
 */
import { errors } from '../src/core/errors.ts';

/** Which header an ACL belongs to: referrer rules are refused in write ACLs. */
export type AclKind = 'read' | 'write';

export interface ParsedAcl {
  /** Referrer rules without their ".r:" ("*", "-bad.com", ".example.com"), in order. */
  referrers: string[];
  /** Grantees, URL-decoded as Swift does; ".rlistings" appears here as in Swift. */
  groups: string[];
}

/** The directive that lets referrer-allowed requests list a container. */
export const LISTINGS_DIRECTIVE = '.rlistings';

const REFERRER_DESIGNATORS = new Set(['.r', '.ref', '.referer', '.referrer']);

/** Swift's clean_acl: validates an ACL header value and returns its normalized form. */
export function cleanAcl(value: string, kind: AclKind): string {
  const cleaned: string[] = [];
  for (const raw of value.split(',')) {
    const entry = cleanEntry(raw, kind);
    if (entry !== undefined) cleaned.push(entry);
  }
  return cleaned.join(',');
}

/** Validates (throwing INVALID_ARGUMENT with Swift's message) and splits an ACL. */
export function parseAcl(value: string, kind: AclKind = 'read'): ParsedAcl {
  return splitClean(cleanAcl(value, kind));
}

/**
 * Parses an ACL as stored, never throwing: each entry is cleaned on its own and an
 * invalid one is skipped, so one bad entry cannot lock everyone out (or in).
 */
export function parseStoredAcl(value: string | undefined): ParsedAcl {
  const cleaned: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    try {
      const entry = cleanEntry(raw, 'read');
      if (entry !== undefined) cleaned.push(entry);
    } catch {
      // skipped: see above
    }
  }
  return splitClean(cleaned.join(','));
}

/** Swift's format_acl (v1): builds an ACL string, cleaned when `kind` is given. */
export function formatAcl(parts: { groups?: string[]; referrers?: string[] }, kind?: AclKind): string {
  const entries = [...(parts.groups ?? []), ...(parts.referrers ?? []).map((r) => `.r:${r}`)];
  const joined = entries.join(',');
  return kind ? cleanAcl(joined, kind) : joined;
}

/**
 * Swift's referrer_allowed: rules apply in order and the last match wins; "*" matches
 * anything (a missing Referer included), ".domain" matches its subdomains, "-" denies.
 * One deliberate difference: host rules compare case-insensitively (Swift lower-cases
 * only the Referer side, so ".r:Example.com" could never match there).
 */
export function referrerAllowed(referrer: string | undefined, rules: readonly string[]): boolean {
  if (rules.length === 0) return false;
  const host = referrerHost(referrer) ?? 'unknown'; // Swift's stand-in for "no host"
  let allow = false;
  for (const rule of rules) {
    if (rule.startsWith('-')) {
      if (hostMatches(rule.slice(1).toLowerCase(), host)) allow = false;
    } else if (rule === '*' || hostMatches(rule.toLowerCase(), host)) {
      allow = true;
    }
  }
  return allow;
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern === host || (pattern.startsWith('.') && host.endsWith(pattern));
}

/** The lower-cased host of a Referer URL as Python's urlparse(...).hostname sees it. */
export function referrerHost(referrer: string | undefined): string | undefined {
  if (!referrer) return undefined;
  let rest = referrer.trim();
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  // Only "//authority" carries a host; "example.com/page" is a relative path to urlparse.
  if (!rest.startsWith('//')) return undefined;
  const authority = rest.slice(2).split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  let host: string;
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    host = end === -1 ? hostPort.slice(1) : hostPort.slice(1, end);
  } else {
    host = hostPort.split(':', 1)[0] ?? '';
  }
  return host ? host.toLowerCase() : undefined;
}

/** Cleans one comma-separated entry; undefined for an empty one. */
function cleanEntry(rawEntry: string, kind: AclKind): string | undefined {
  const raw = rawEntry.trim();
  if (!raw) return undefined;
  const colon = raw.indexOf(':');
  if (colon === -1) return raw;
  const first = raw.slice(0, colon).trim();
  let second = raw.slice(colon + 1).trim();
  // "account:user" and friends pass through untouched, as in Swift.
  if (!first.startsWith('.')) return raw;
  if (!REFERRER_DESIGNATORS.has(first)) {
    throw errors.invalidArgument(`Unknown designator ${pyRepr(first)} in ACL: ${pyRepr(raw)}`);
  }
  if (kind === 'write') throw errors.invalidArgument(`Referrers not allowed in write ACL: ${pyRepr(raw)}`);
  let negate = false;
  if (second.startsWith('-')) {
    negate = true;
    second = second.slice(1).trim();
  }
  // "*.example.com" means the same as ".example.com".
  if (second && second !== '*' && second.startsWith('*')) second = second.slice(1).trim();
  if (!second || second === '.') {
    throw errors.invalidArgument(`No host/domain value after referrer designation in ACL: ${pyRepr(raw)}`);
  }
  return `.r:${negate ? '-' : ''}${second}`;
}

/** Swift's parse_acl on an already-cleaned string. */
function splitClean(cleaned: string): ParsedAcl {
  const parsed: ParsedAcl = { referrers: [], groups: [] };
  if (!cleaned) return parsed;
  for (const entry of cleaned.split(',')) {
    if (entry.startsWith('.r:')) parsed.referrers.push(entry.slice(3));
    else parsed.groups.push(unquote(entry));
  }
  return parsed;
}

// Python's unquote never fails; keep the raw text where percent-decoding would.
function unquote(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Python's repr() of a str, so error messages read exactly like Swift's. */
function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}
