/**
 * Listings are data until here: rendered as Swift renders them (json.dumps with
 * ensure_ascii, ElementTree XML, plain names one per line).
 */
import type { ContainerListing, ObjectListing } from '../../src/core/types.ts';
import { HttpError } from './errors.ts';

export type ListingFormat = 'text/plain' | 'application/json' | 'application/xml' | 'text/xml';
const OFFERS: ListingFormat[] = ['text/plain', 'application/json', 'application/xml', 'text/xml'];
const FORMAT2TYPE: Record<string, ListingFormat> = { plain: 'text/plain', json: 'application/json', xml: 'application/xml' };

const TOKEN = "[^()<>@,;:\\\\\"/\\[\\]?={}\\x00-\\x20\\x7f]+";
const ACCEPT_RE = new RegExp(
  `^\\s*(${TOKEN})/(${TOKEN})((?:\\s*;\\s*(?:${TOKEN})\\s*=\\s*(?:${TOKEN}|"(?:[^"\\\\]|(?:\\\\.))*"))*?\\s*)$`,
);

/** swob's Accept.best_match over Swift's listing types, with `format=` taking precedence. */
export function listingFormat(format: string | undefined, accept: string | undefined): ListingFormat {
  const header = format ? (FORMAT2TYPE[format.toLowerCase()] ?? 'text/plain') : accept;
  if (!header) return 'text/plain';
  const types: Array<{ re: RegExp; q: number; specific: boolean; i: number }> = [];
  let i = 0;
  for (const part of header.split(',')) {
    const m = ACCEPT_RE.exec(part);
    if (!m) throw new HttpError(400, 'Invalid Accept header');
    const [, typ = '', sub = '', parms = ''] = m;
    let q = 1;
    let seenQ = false;
    for (const p of parms.split(';')) {
      const t = p.trim();
      if (!t) continue;
      const [n = '', v = ''] = t.split('=');
      if (n.trim() === 'q') {
        if (seenQ) throw new HttpError(400, 'Invalid Accept header');
        seenQ = true;
        q = Number(v.trim());
        if (Number.isNaN(q)) throw new HttpError(400, 'Invalid Accept header');
      }
    }
    const pat = `^${typ === '*' ? TOKEN : escapeRe(typ)}/${sub === '*' ? TOKEN : escapeRe(sub)}$`;
    types.push({ re: new RegExp(pat), q, specific: typ !== '*' && sub !== '*', i: i++ });
  }
  types.sort((a, b) => b.q - a.q || Number(b.specific) - Number(a.specific) || a.i - b.i);
  for (const t of types) for (const o of OFFERS) if (t.re.test(o)) return o;
  throw new HttpError(406);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Python json.dumps(str) with ensure_ascii. */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += '\\\\';
      else out += s[i];
    } else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** Timestamp(x).isoformat: UTC, microseconds, no zone. */
export function isoTimestamp(ts: string): string {
  // X-Timestamps carry at most 5 decimals, so the microseconds are exact digits.
  const dot = ts.indexOf('.');
  const secs = Number.parseInt(dot === -1 ? ts : ts.slice(0, dot), 10);
  const frac = dot === -1 ? '' : ts.slice(dot + 1);
  const iso = new Date(secs * 1000).toISOString(); // 2024-01-02T03:04:05.000Z
  return `${iso.slice(0, 19)}.${(frac + '000000').slice(0, 6)}`;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#09;');
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function renderObjects(listing: ObjectListing, format: ListingFormat, container: string): string {
  if (format === 'application/json') {
    const parts = listing.map((e) =>
      e.kind === 'subdir'
        ? `{"subdir": ${pyJsonString(e.name)}}`
        : `{"bytes": ${e.size}, "hash": ${pyJsonString(e.etag)}, "name": ${pyJsonString(e.name)}, "content_type": ${pyJsonString(e.contentType)}, "last_modified": "${isoTimestamp(e.lastModified)}"}`,
    );
    return `[${parts.join(', ')}]`;
  }
  if (format === 'text/plain') return listing.map((e) => `${e.name}\n`).join('');
  if (listing.length === 0) return `${XML_DECL}<container name="${xmlAttr(container)}" />`;
  const body = listing
    .map((e) =>
      e.kind === 'subdir'
        ? `<subdir name="${xmlAttr(e.name)}"><name>${xmlText(e.name)}</name></subdir>`
        : `<object><name>${xmlText(e.name)}</name><hash>${xmlText(e.etag)}</hash><bytes>${e.size}</bytes><content_type>${xmlText(
            e.contentType,
          )}</content_type><last_modified>${isoTimestamp(e.lastModified)}</last_modified></object>`,
    )
    .join('');
  return `${XML_DECL}<container name="${xmlAttr(container)}">${body}</container>`;
}

export function renderContainers(listing: ContainerListing, format: ListingFormat, account: string): string {
  if (format === 'application/json') {
    const parts = listing.map((e) =>
      e.kind === 'subdir'
        ? `{"subdir": ${pyJsonString(e.name)}}`
        : `{"name": ${pyJsonString(e.name)}, "count": ${e.objectCount}, "bytes": ${e.bytesUsed}, "last_modified": "${isoTimestamp(e.lastModified)}"}`,
    );
    return `[${parts.join(', ')}]`;
  }
  if (format === 'text/plain') return listing.map((e) => `${e.name}\n`).join('');
  const body = listing
    .map((e) =>
      e.kind === 'subdir'
        ? `<subdir name="${xmlAttr(e.name)}" />\n`
        : `<container><name>${xmlText(e.name)}</name><count>${e.objectCount}</count><bytes>${e.bytesUsed}</bytes><last_modified>${isoTimestamp(
            e.lastModified,
          )}</last_modified></container>\n`,
    )
    .join('');
  return `${XML_DECL}<account name="${xmlAttr(account)}">\n${body}</account>`;
}
