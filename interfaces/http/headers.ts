/**
 * Metadata headers ⇄ Metadata maps. Names are stored lower-cased without their
 * `X-<Kind>-Meta-` prefix and sent back title-cased as Swift does (str.title()).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Constraints } from '../../src/core/constraints.ts';
import type { Metadata, MetadataPatch } from '../../src/core/types.ts';
import { HttpError } from './errors.ts';
import { type HeaderList, headerText, headerValue } from './response.ts';

export type MetaKind = 'account' | 'container' | 'object';

const PREFIX: Record<MetaKind, string> = { account: 'x-account-meta-', container: 'x-container-meta-', object: 'x-object-meta-' };
const REMOVE_PREFIX: Record<MetaKind, string> = {
  account: 'x-remove-account-meta-',
  container: 'x-remove-container-meta-',
  object: 'x-remove-object-meta-',
};

/** Python's str.title(): a letter is upper-cased after a non-letter, lower-cased after a letter. */
export function pyTitle(s: string): string {
  let out = '';
  let prevCased = false;
  for (const ch of s) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    const cased = lower !== upper;
    out += cased ? (prevCased ? lower : upper) : ch;
    prevCased = cased;
  }
  return out;
}

const titleCache = new Map<string, string>();
/** Title-cased header name, memoized: the same names come back on every request. */
export function titleHeader(name: string): string {
  let t = titleCache.get(name);
  if (t === undefined) {
    t = pyTitle(name);
    if (titleCache.size < 10_000) titleCache.set(name, t);
  }
  return t;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The first of several header names present, as UTF-8 text. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = one(headers[name]);
  return v === undefined ? undefined : headerText(v);
}

/**
 * Swift's check_metadata over the request headers: byte lengths, Swift's messages.
 * Runs before anything is written, so a refused request changes nothing.
 */
export function checkMetadataHeaders(headers: IncomingHttpHeaders, kind: MetaKind, c: Constraints): void {
  const prefix = PREFIX[kind];
  let count = 0;
  let size = 0;
  for (const [name, raw] of Object.entries(headers)) {
    const value = one(raw) ?? '';
    if (value.length > c.max_header_size) throw new HttpError(400, `Header value too long: ${titleHeader(name).slice(0, c.max_meta_name_length)}`);
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    if (!key) throw new HttpError(400, 'Metadata name cannot be empty');
    if (kind !== 'object' && (!validUtf8(key) || (value && !validUtf8(value)))) throw new HttpError(400, 'Metadata must be valid UTF-8');
    count += 1;
    size += key.length + value.length;
    if (key.length > c.max_meta_name_length) throw new HttpError(400, `Metadata name too long: ${prefix}${key}`);
    if (value.length > c.max_meta_value_length)
      throw new HttpError(400, `Metadata value longer than ${c.max_meta_value_length}: ${prefix}${key}`);
    if (count > c.max_meta_count) throw new HttpError(400, `Too many metadata items; max ${c.max_meta_count}`);
    if (size > c.max_meta_overall_size) throw new HttpError(400, `Total metadata too large; max ${c.max_meta_overall_size}`);
  }
}

function validUtf8(latin1: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(latin1)) return !latin1.includes('\0');
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(latin1, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The metadata change a request asks for: X-<Kind>-Meta-Name sets (an empty value
 * removes, as in Swift), X-Remove-<Kind>-Meta-Name removes.
 */
export function metadataPatch(headers: IncomingHttpHeaders, kind: MetaKind): { set: Metadata; remove: string[]; any: boolean } {
  const prefix = PREFIX[kind];
  const rprefix = REMOVE_PREFIX[kind];
  const set: Metadata = {};
  const remove: string[] = [];
  let any = false;
  for (const [name, raw] of Object.entries(headers)) {
    if (name.startsWith(prefix)) {
      const key = name.slice(prefix.length);
      if (!key) continue;
      set[key] = headerText(one(raw) ?? '').trim();
      any = true;
    } else if (name.startsWith(rprefix)) {
      const key = name.slice(rprefix.length);
      if (!key) continue;
      if (!(key in set)) set[key] = '';
      remove.push(key);
      any = true;
    }
  }
  // An explicit X-Kind-Meta-Name beats an X-Remove-Kind-Meta-Name for the same name.
  for (const key of remove) if (set[key] === '') delete set[key];
  return { set, remove: remove.filter((k) => !(k in set)), any };
}

/** As a MetadataPatch for the core (empty values delete). */
export function toPatch(p: { set: Metadata; remove: string[] }): MetadataPatch {
  return { set: p.set, remove: p.remove };
}

/** Metadata → response headers, title-cased like Swift's. */
export function metaHeaders(meta: Metadata, kind: MetaKind, out: HeaderList): void {
  const prefix = PREFIX[kind];
  for (const key in meta) {
    const v = meta[key];
    if (v === undefined) continue;
    out.push([titleHeader(prefix + key), headerValue(v)]);
  }
}

/**
 * What the account and container servers check after merging a change into the stored
 * metadata (Swift's DatabaseBroker.validate_metadata): the totals, not just the request.
 */
export function checkMergedMetadata(existing: Metadata, set: Metadata, remove: string[], c: Constraints): void {
  const merged: Metadata = { ...existing };
  for (const k of remove) delete merged[k];
  for (const [k, v] of Object.entries(set)) {
    if (v === '') delete merged[k];
    else merged[k] = v;
  }
  let count = 0;
  let size = 0;
  for (const [k, v] of Object.entries(merged)) {
    count += 1;
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (count > c.max_meta_count) throw new HttpError(400, `Too many metadata items; max ${c.max_meta_count}`);
  if (size > c.max_meta_overall_size) throw new HttpError(400, `Total metadata too large; max ${c.max_meta_overall_size}`);
}

/** Swift's swift_owner_headers: temp-url keys are for owners' eyes only. */
export function withoutOwnerMeta(meta: Metadata): Metadata {
  if (!('temp-url-key' in meta) && !('temp-url-key-2' in meta)) return meta;
  const out = { ...meta };
  delete out['temp-url-key'];
  delete out['temp-url-key-2'];
  return out;
}
