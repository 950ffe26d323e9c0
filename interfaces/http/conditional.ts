/**
 * Conditional GET/HEAD as swob evaluates them: If-None-Match → 304, If-Match → 412,
 * then If-Modified-Since → 304 and If-Unmodified-Since → 412, on whole seconds.
 */
import type { IncomingHttpHeaders } from 'node:http';

function tags(header: string): Set<string> {
  const out = new Set<string>();
  for (const t of header.split(',')) {
    const tag = t.trim();
    if (tag) out.add(normalizeEtag(tag));
  }
  return out;
}

export function normalizeEtag(tag: string): string {
  return tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag.slice(1, -1) : tag;
}

function matches(header: string, etag: string): boolean {
  const t = tags(header);
  return t.has('*') || t.has(etag);
}

/** Python's email.utils.parsedate-style HTTP dates; undefined when unreadable. */
export function parseHttpDate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** 304, 412 or undefined (go ahead). `lastModified` in whole seconds (Swift rounds up). */
export function conditionalStatus(h: IncomingHttpHeaders, etag: string, lastModified: number): 304 | 412 | undefined {
  const inm = h['if-none-match'];
  if (inm !== undefined && matches(inm, etag)) return 304;
  const im = h['if-match'];
  if (im !== undefined && !matches(im, etag)) return 412;
  const ims = parseHttpDate(h['if-modified-since']);
  if (ims !== undefined && lastModified <= ims) return 304;
  const ius = parseHttpDate(h['if-unmodified-since']);
  if (ius !== undefined && lastModified > ius) return 412;
  return undefined;
}

/** For a missing object: If-Match: * can never hold (412); otherwise the 404 stands. */
export function missingStatus(h: IncomingHttpHeaders): 412 | undefined {
  const im = h['if-match'];
  return im !== undefined && tags(im).has('*') ? 412 : undefined;
}

/** RFC 1123 date as Swift sends Last-Modified. */
export function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}
