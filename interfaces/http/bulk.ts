/**
 * Swift's bulk middleware: `?bulk-delete` (POST/DELETE, newline-separated paths) and
 * `?extract-archive=tar|tar.gz` (PUT, one object per regular file in the archive).
 * Each item is authorized and performed as the sub-request Swift would make.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { PutObjectOptions } from '../../src/core/namespace.ts';
import { requireAccess } from './access.ts';
import type { Ctx } from './context.ts';
import { HttpError, toHttpError } from './errors.ts';
import { header } from './headers.ts';
import { listingFormat, pyJsonString } from './listing-render.ts';
import { guessContentType } from './mime.ts';
import { quotePath } from './object.ts';
import { sendBody } from './response.ts';

export const MAX_DELETES_PER_REQUEST = 10000;
export const MAX_FAILED_DELETES = 1000;
export const MAX_CONTAINERS_PER_EXTRACTION = 10000;
export const MAX_FAILED_EXTRACTIONS = 1000;

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 406: 'Not Acceptable',
  409: 'Conflict', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large', 422: 'Unprocessable Entity',
  499: 'Client Disconnect', 500: 'Internal Error', 503: 'Service Unavailable',
};

function statusLine(status: number): string {
  return `${status} ${REASONS[status] ?? 'Unknown'}`;
}

function outFormat(ctx: Ctx): string {
  try {
    return listingFormat(undefined, header(ctx.req.headers, 'accept'));
  } catch {
    return 'text/plain';
  }
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** bulk.get_response_body: data keys sorted for text/xml, insertion order for JSON. */
function responseBody(format: string, data: Array<[string, string | number]>, errors: Array<[string, string]>, root: string): string {
  if (format === 'application/json') {
    const parts = data.map(([k, v]) => `${pyJsonString(k)}: ${typeof v === 'number' ? v : pyJsonString(v)}`);
    parts.push(`"Errors": [${errors.map(([n, s]) => `[${pyJsonString(n)}, ${pyJsonString(s)}]`).join(', ')}]`);
    return `{${parts.join(', ')}}`;
  }
  const sorted = [...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (format.endsWith('/xml')) {
    let out = `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>\n`;
    for (const [k, v] of sorted) {
      const tag = k.replace(/ /g, '_').toLowerCase();
      out += `<${tag}>${xmlEscape(String(v))}</${tag}>\n`;
    }
    out += '<errors>\n';
    for (const [n, s] of errors) out += `<object><name>${xmlEscape(n)}</name><status>${xmlEscape(s)}</status></object>\n`;
    return `${out}</errors>\n</${root}>\n`;
  }
  let out = '';
  for (const [k, v] of sorted) out += `${k}: ${v}\n`;
  out += 'Errors:\n';
  for (const [n, s] of errors) out += `${n}, ${s}\n`;
  return out;
}

async function readBody(ctx: Ctx, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.req) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) throw new HttpError(413, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export async function handleBulkDelete(ctx: Ctx): Promise<void> {
  const format = outFormat(ctx);
  const ct = header(ctx.req.headers, 'content-type');
  if (ct && !ct.startsWith('text/plain')) throw new HttpError(406);
  if (ctx.req.headers.expect?.toLowerCase() === '100-continue') ctx.res.writeContinue();
  const maxPath = ctx.deps.namespace.constraints.max_object_name_length + ctx.deps.namespace.constraints.max_container_name_length + 2;
  const body = await readBody(ctx, MAX_DELETES_PER_REQUEST * (maxPath + 2));
  const names: string[] = [];
  for (const line of body.toString('latin1').split('\n')) {
    const raw = line.trim();
    if (!raw) continue;
    let name: string;
    try {
      name = decodeURIComponent(escapeLatin1(raw));
    } catch {
      name = Buffer.from(raw, 'latin1').toString('utf8');
    }
    names.push(name);
  }
  if (names.length > MAX_DELETES_PER_REQUEST) throw new HttpError(413, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
  let deleted = 0;
  let notFound = 0;
  const failed: Array<[string, string]> = [];
  const ns = ctx.deps.namespace;
  // Objects first, then containers (which may have just been emptied).
  const ordered = [...names.filter((n) => n.replace(/^\/+|\/+$/g, '').includes('/')), ...names.filter((n) => !n.replace(/^\/+|\/+$/g, '').includes('/'))];
  for (const name of ordered) {
    if (failed.length >= MAX_FAILED_DELETES) break;
    const path = name.replace(/^\/+/, '');
    const slash = path.indexOf('/');
    const container = slash === -1 ? path.replace(/\/+$/, '') : path.slice(0, slash);
    const object = slash === -1 ? undefined : path.slice(slash + 1);
    try {
      if (path.includes('\0')) throw new HttpError(412);
      await requireAccess(ctx, { method: 'DELETE', container, object, isListing: false });
      if (object) await ns.deleteObject(ctx.account, container, object);
      else await ns.deleteContainer(ctx.account, container);
      deleted += 1;
    } catch (err) {
      const e = toHttpError(err, ctx.account);
      if (e.status === 404) notFound += 1;
      else failed.push([quotePath(name), statusLine(e.status)]);
    }
  }
  let status = '200 OK';
  let respBody = '';
  if (failed.length) status = '400 Bad Request';
  else if (!deleted && !notFound) {
    status = '400 Bad Request';
    respBody = 'Invalid bulk delete.';
  }
  const data: Array<[string, string | number]> = [
    ['Response Status', status],
    ['Response Body', respBody],
    ['Number Deleted', deleted],
    ['Number Not Found', notFound],
  ];
  sendBody(ctx.res, ctx.transId, 200, [['Content-Type', `${format}; charset=utf-8`]], responseBody(format, data, failed, 'delete'));
}

// Percent-decoding must see the raw bytes: turn non-ASCII latin1 chars into %XX first.
function escapeLatin1(s: string): string {
  return s.replace(/[\u0080-\u00ff]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

// ------------------------------------------------------------------ extract

/** Reads exact byte counts from a stream. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private done = false;
  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }
  private async fill(n: number): Promise<void> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
  }
  async read(n: number): Promise<Buffer | undefined> {
    await this.fill(n);
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Up to `max` bytes, at least one unless the stream ended. */
  async some(max: number): Promise<Buffer | undefined> {
    await this.fill(1);
    if (this.buf.length === 0) return undefined;
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return (z === -1 ? b : b.subarray(0, z)).toString('utf8');
}

function octal(b: Buffer): number {
  const s = cstr(b).trim();
  return s ? Number.parseInt(s, 8) : 0;
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number.parseInt(data.subarray(i, sp).toString('ascii'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export async function handleExtractArchive(ctx: Ctx, kind: string): Promise<void> {
  const format = outFormat(ctx);
  const type = kind.toLowerCase().replace(/^\.+|\.+$/g, '');
  if (type !== 'tar' && type !== 'tar.gz') throw new HttpError(400, 'Unsupported archive format');
  if (ctx.req.headers.expect?.toLowerCase() === '100-continue') ctx.res.writeContinue();
  const source: AsyncIterable<Buffer> = type === 'tar.gz' ? ctx.req.pipe(createGunzip()) : ctx.req;
  const reader = new ByteReader(source);
  const ns = ctx.deps.namespace;
  let created = 0;
  const failed: Array<[string, string]> = [];
  const containers = new Set<string>();
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  let bad = false;
  const base = [ctx.container, ctx.object].filter((p): p is string => !!p).join('/');
  for (;;) {
    const hdr = await reader.read(512);
    if (!hdr) break;
    if (hdr.every((b) => b === 0)) break;
    const size = octal(hdr.subarray(124, 136));
    const flag = String.fromCharCode(hdr[156] ?? 0);
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'L' || flag === 'x' || flag === 'g') {
      const data = await reader.read(padded);
      if (!data) {
        bad = true;
        break;
      }
      if (flag === 'L') longName = cstr(data.subarray(0, size));
      else if (flag === 'x') pax = parsePax(data.subarray(0, size));
      continue;
    }
    const prefix = hdr.subarray(257, 263).toString('ascii').startsWith('ustar') ? cstr(hdr.subarray(345, 500)) : '';
    let name = longName ?? (prefix ? `${prefix}/${cstr(hdr.subarray(0, 100))}` : cstr(hdr.subarray(0, 100)));
    if (pax?.has('path')) name = pax.get('path') as string;
    const meta = pax;
    longName = undefined;
    pax = undefined;
    const regular = flag === '0' || flag === '\0' || flag === '7';
    if (!regular) {
      if (padded && !(await reader.read(padded))) {
        bad = true;
        break;
      }
      continue;
    }
    const dest = `${base ? `${base}/` : ''}${name.replace(/^\.\//, '').replace(/^\/+/, '')}`;
    const slash = dest.indexOf('/');
    const container = slash === -1 ? '' : dest.slice(0, slash);
    const object = slash === -1 ? '' : dest.slice(slash + 1);
    let remaining = size;
    const body = Readable.from(
      (async function* () {
        while (remaining > 0) {
          const chunk = await reader.some(Math.min(remaining, 1 << 20));
          if (!chunk) throw new Error('archive ended inside a file');
          remaining -= chunk.length;
          yield chunk;
        }
      })(),
    );
    try {
      if (!container || !object) throw new HttpError(400);
      if (!containers.has(container)) {
        if (!(await ns.getContainer(ctx.account, container))) {
          if (containers.size >= MAX_CONTAINERS_PER_EXTRACTION) throw new HttpError(400);
          await requireAccess(ctx, { method: 'PUT', container, object: undefined, isListing: false });
          await ns.createContainer(ctx.account, container);
        }
        containers.add(container);
      }
      await requireAccess(ctx, { method: 'PUT', container, object, isListing: false });
      const opts: PutObjectOptions = { contentType: guessContentType(object), expectedSize: size, meta: {} };
      for (const [k, v] of meta ?? []) {
        if (k === 'SCHILY.xattr.user.mime_type' || k === 'LIBARCHIVE.xattr.user.mime_type') opts.contentType = v;
        else if (k.startsWith('SCHILY.xattr.user.meta.')) (opts.meta as Record<string, string>)[k.slice(23).toLowerCase()] = v;
        else if (k.startsWith('LIBARCHIVE.xattr.user.meta.')) (opts.meta as Record<string, string>)[k.slice(27).toLowerCase()] = v;
      }
      await ns.putObject(ctx.account, container, object, body, opts);
      created += 1;
    } catch (err) {
      body.destroy();
      failed.push([quotePath(dest), statusLine(toHttpError(err, ctx.account).status)]);
    }
    // Drain what the failed upload left unread, then the block padding.
    while (remaining > 0) {
      const chunk = await reader.some(remaining);
      if (!chunk) {
        bad = true;
        break;
      }
      remaining -= chunk.length;
    }
    if (bad) break;
    if (padded > size && !(await reader.read(padded - size))) break;
    if (failed.length >= MAX_FAILED_EXTRACTIONS) break;
  }
  let status = '201 Created';
  let respBody = '';
  if (bad) {
    status = '400 Bad Request';
    respBody = 'Invalid Tar File: truncated';
  } else if (failed.length) status = '400 Bad Request';
  else if (!created) {
    status = '400 Bad Request';
    respBody = 'Invalid Tar File: No Valid Files';
  }
  const data: Array<[string, string | number]> = [
    ['Response Status', status],
    ['Response Body', respBody],
    ['Number Files Created', created],
  ];
  sendBody(ctx.res, ctx.transId, 200, [['Content-Type', `${format}; charset=utf-8`]], responseBody(format, data, failed, 'extract'));
}
