/**
 * Object requests: GET/HEAD (ranges, conditionals), PUT (streamed from the socket,
 * X-Copy-From), COPY, POST (metadata), DELETE.
 */
import { randomBytes } from 'node:crypto';
import type { CopyObjectOptions, PutObjectOptions } from '../../src/core/namespace.ts';
import type { ObjectRecord } from '../../src/core/types.ts';
import { requireAccess } from './access.ts';
import { conditionalStatus, missingStatus, normalizeEtag } from './conditional.ts';
import type { Ctx } from './context.ts';
import { defaultBody, HTML, HttpError, httpErrors } from './errors.ts';
import { checkMetadataHeaders, header, metaHeaders, metadataPatch, titleHeader } from './headers.ts';
import { sendManifest, validateManifestHeader } from './dlo.ts';
import { applyEtagQuoting, etagQuotingEnabled, quoteEtag } from './etag-quoter.ts';
import { guessContentType } from './mime.ts';
import { decodeComponent } from './request-context.ts';
import { contentRange, parseRange, rangesForLength } from './ranges.ts';
import { type HeaderList, headerValue, sendBody, sendParts, sendStream } from './response.ts';

/** Headers Swift stores with an object and gives back (object server's allowed_headers). */
const STORED_HEADERS = ['content-disposition', 'content-encoding', 'content-language', 'cache-control', 'expires', 'x-robots-tag', 'x-object-manifest'];

export async function handleObject(ctx: Ctx): Promise<void> {
  switch (ctx.method) {
    case 'GET':
    case 'HEAD':
      return getObject(ctx);
    case 'PUT':
      return putObject(ctx);
    case 'POST':
      return postObject(ctx);
    case 'DELETE':
      return deleteObject(ctx);
    case 'COPY':
      return copyObject(ctx);
    default:
      throw httpErrors.methodNotAllowed('COPY, DELETE, GET, HEAD, OPTIONS, POST, PUT');
  }
}

function names(ctx: Ctx): { container: string; object: string } {
  return { container: ctx.container as string, object: ctx.object as string };
}

export function lastModifiedSeconds(rec: ObjectRecord): number {
  return Math.ceil(Number.parseFloat(rec.metaTimestamp));
}

function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

export function objectHeaders(rec: ObjectRecord, h: HeaderList): void {
  h.push(
    ['Content-Type', headerValue(rec.contentType)],
    ['Etag', rec.etag],
    ['Last-Modified', httpDate(lastModifiedSeconds(rec))],
    ['X-Timestamp', rec.metaTimestamp],
    ['Accept-Ranges', 'bytes'],
  );
  metaHeaders(rec.meta, 'object', h);
  for (const k in rec.headers) {
    const v = rec.headers[k];
    if (v !== undefined) h.push([titleHeader(k), headerValue(v)]);
  }
  if (rec.deleteAt !== undefined) h.push(['X-Delete-At', String(rec.deleteAt)]);
}

// ------------------------------------------------------------------ GET / HEAD

async function getObject(ctx: Ctx): Promise<void> {
  const { container, object } = names(ctx);
  await requireAccess(ctx);
  const ns = ctx.deps.namespace;
  const rec = await ns.getObject(ctx.account, container, object);
  if (!rec) {
    if (missingStatus(ctx.req.headers) === 412) throw httpErrors.preconditionFailed();
    throw httpErrors.notFound();
  }
  const h: HeaderList = [];
  objectHeaders(rec, h);
  const manifest = rec.headers['x-object-manifest'];
  if (manifest && ctx.query.get('multipart-manifest') !== 'get') return sendManifest(ctx, rec, manifest, h);
  await applyEtagQuoting(ctx, h);
  const cond = conditionalStatus(ctx.req.headers, rec.etag, lastModifiedSeconds(rec));
  if (cond !== undefined) {
    h.push(['Content-Length', '0']);
    sendBody(ctx.res, ctx.transId, cond, h, undefined, true);
    return;
  }
  if (ctx.method === 'HEAD') {
    h.push(['Content-Length', String(rec.size)]);
    sendBody(ctx.res, ctx.transId, 200, h, undefined, true);
    return;
  }
  const rangeHeader = ctx.req.headers.range;
  const ranges = rangeHeader === undefined ? undefined : rangesForLength(parseRange(rangeHeader), rec.size);
  if (ranges !== undefined && !(rec.size === 0 && ranges.length > 0)) {
    if (ranges.length === 0) {
      h.push(['Content-Range', `bytes */${rec.size}`]);
      sendBody(ctx.res, ctx.transId, 416, h, defaultBody(416));
      return;
    }
    if (ranges.length === 1) {
      const [start, end] = ranges[0] as [number, number];
      h.push(['Content-Range', contentRange(start, end, rec.size)], ['Content-Length', String(end - start)]);
      const small = await ns.readSmallObject(rec);
      if (small && small.record.blobId === rec.blobId) {
        sendBody(ctx.res, ctx.transId, 206, h, small.bytes.subarray(start, end));
        return;
      }
      const opened = await ns.openObject(rec, { start, end: end - 1 });
      await sendStream(ctx.res, ctx.transId, 206, h, opened.stream);
      return;
    }
    const boundary = randomBytes(16).toString('hex');
    const partType = rec.contentType;
    const parts: Array<string | (() => Promise<import('node:stream').Readable>)> = [];
    let length = 0;
    for (const [start, end] of ranges) {
      const head = `--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: ${contentRange(start, end, rec.size)}\r\n\r\n`;
      parts.push(head);
      length += Buffer.byteLength(head);
      parts.push(async () => (await ns.openObject(rec, { start, end: end - 1 })).stream);
      length += end - start;
      parts.push('\r\n');
      length += 2;
    }
    const tail = `--${boundary}--`;
    parts.push(tail);
    length += tail.length;
    const idx = h.findIndex(([k]) => k === 'Content-Type');
    h[idx] = ['Content-Type', `multipart/byteranges;boundary=${boundary}`];
    h.push(['Content-Length', String(length)]);
    await sendParts(ctx.res, ctx.transId, 206, h, parts);
    return;
  }
  // Hot small objects come from the core's read cache: no file open, no stream.
  const small = await ns.readSmallObject(rec);
  if (small) {
    if (small.record !== rec) {
      h.length = 0;
      objectHeaders(small.record, h);
      await applyEtagQuoting(ctx, h);
    }
    h.push(['Content-Length', String(small.bytes.length)]);
    sendBody(ctx.res, ctx.transId, 200, h, small.bytes);
    return;
  }
  const opened = await ns.openObject(rec);
  if (opened.record !== rec) {
    // Overwritten between lookup and open: describe what we actually send.
    h.length = 0;
    objectHeaders(opened.record, h);
  }
  h.push(['Content-Length', String(opened.record.size)]);
  await sendStream(ctx.res, ctx.transId, 200, h, opened.stream);
}

// ----------------------------------------------------------------------- PUT

/** Swift's check_delete_headers: X-Delete-After → X-Delete-At, both validated against now. */
function deleteAtFrom(ctx: Ctx): number | undefined {
  const now = Date.now() / 1000;
  const after = header(ctx.req.headers, 'x-delete-after');
  let at: number | undefined;
  if (after !== undefined) {
    const n = pyInt(after);
    if (n === undefined) throw new HttpError(400, 'Non-integer X-Delete-After');
    at = clampDeleteAt(Math.floor(now + n));
    if (at <= now) throw new HttpError(400, 'X-Delete-After in past');
    return at;
  }
  const atHeader = header(ctx.req.headers, 'x-delete-at');
  if (atHeader !== undefined) {
    const n = pyInt(atHeader);
    if (n === undefined) throw new HttpError(400, 'Non-integer X-Delete-At');
    at = clampDeleteAt(n);
    if (at <= now) throw new HttpError(400, 'X-Delete-At in past');
    return at;
  }
  return undefined;
}

function clampDeleteAt(n: number): number {
  return Math.min(Math.max(n, 0), 9999999999);
}

/** Python's int(str): optional sign, digits, surrounding whitespace. */
function pyInt(v: string): number | undefined {
  const t = v.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined;
}

function storedHeaders(ctx: Ctx): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of STORED_HEADERS) {
    const v = header(ctx.req.headers, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function guessType(name: string): string {
  return guessContentType(name);
}

function contentTypeFor(ctx: Ctx, name: string): string | undefined {
  const given = header(ctx.req.headers, 'content-type');
  const detect = ['true', '1', 'yes', 'on', 't', 'y'].includes((header(ctx.req.headers, 'x-detect-content-type') ?? '').toLowerCase());
  if (detect || !given) return guessType(name);
  return given;
}

function checkObjectName(ctx: Ctx, name: string): void {
  const max = ctx.deps.namespace.constraints.max_object_name_length;
  const len = Buffer.byteLength(name);
  if (len > max) throw new HttpError(400, `Object name length of ${len} longer than ${max}`);
}

async function requireContainerExists(ctx: Ctx, account: string, container: string, known?: unknown): Promise<void> {
  if (known) return;
  if (!(await ctx.deps.namespace.getContainerSettings(account, container))) throw httpErrors.notFound();
}

async function putObject(ctx: Ctx): Promise<void> {
  const { container, object } = names(ctx);
  const h = ctx.req.headers;
  // The copy middleware reads the source (and may fail on it) before the PUT is judged.
  if (header(h, 'x-copy-from') !== undefined) return copyInto(ctx, undefined, { account: ctx.account, container, object });
  const access = await requireAccess(ctx);
  await requireContainerExists(ctx, ctx.account, container, access.container);

  const c = ctx.deps.namespace.constraints;
  const chunked = transferChunked(h['transfer-encoding']);
  const lengthHeader = h['content-length'];
  const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new HttpError(400, 'Invalid Content-Length');
  if (length !== undefined && length > c.max_file_size) throw httpErrors.tooLarge();
  if (length === undefined && !chunked) throw httpErrors.lengthRequired();
  checkObjectName(ctx, object);
  const contentType = contentTypeFor(ctx, object) as string;
  const deleteAt = deleteAtFrom(ctx);
  checkManifestHeader(ctx);
  checkMetadataHeaders(h, 'object', c);
  const inm = header(h, 'if-none-match');
  if (inm !== undefined && inm.trim() !== '*') throw new HttpError(400, 'If-None-Match only supports *');
  const etag = header(h, 'etag');

  const patch = metadataPatch(h, 'object');
  const opts: PutObjectOptions = { contentType, meta: patch.set, headers: storedHeaders(ctx) };
  if (deleteAt !== undefined) opts.deleteAt = deleteAt;
  if (etag) opts.expectedEtag = normalizeEtag(etag.trim());
  if (!chunked && length !== undefined) opts.expectedSize = length;
  if (inm !== undefined) opts.ifNoneMatch = true;

  // A client that goes away mid-upload must leave nothing behind.
  const ac = new AbortController();
  const onClose = (): void => {
    if (!ctx.req.complete) ac.abort();
  };
  ctx.req.on('close', onClose);
  opts.signal = ac.signal;
  if (h.expect?.toLowerCase() === '100-continue') ctx.res.writeContinue();
  // Decided while the body uploads, so nothing but the commit stands before the answer.
  const quoting = etagQuotingEnabled(ctx, ctx.account, container);
  quoting.catch(() => undefined); // awaited below unless the upload fails first
  let rec: ObjectRecord;
  try {
    rec = await ctx.deps.namespace.putObject(ctx.account, container, object, ctx.req, opts);
  } finally {
    ctx.req.off('close', onClose);
  }
  const out: HeaderList = [
    ['Content-Type', HTML],
    ['Etag', rec.etag],
    ['Last-Modified', httpDate(lastModifiedSeconds(rec))],
  ];
  quoteEtag(out, await quoting);
  sendBody(ctx.res, ctx.transId, 201, out);
}

/** swob's message_length(): only a lone "chunked" transfer coding is understood. */
function transferChunked(te: string | undefined): boolean {
  if (te === undefined) return false;
  const codings = te.split(',');
  if (codings.length > 1) throw httpErrors.notImplemented('Unsupported Transfer-Coding header value specified in Transfer-Encoding header');
  if (te.trim().toLowerCase() !== 'chunked') throw new HttpError(400, 'Invalid Transfer-Encoding header value');
  return true;
}

function checkManifestHeader(ctx: Ctx): void {
  const m = header(ctx.req.headers, 'x-object-manifest');
  if (m !== undefined) validateManifestHeader(m);
}

// ---------------------------------------------------------------------- COPY

interface PathRef {
  account: string;
  container: string;
  object: string;
}

/** Swift's check_path_header(req, name, 2, msg): "<container>/<object>", URL-quoted, leading '/' optional. */
function pathHeader(value: string, message: string): { container: string; object: string } {
  const decoded = decodeComponent(value) ?? value;
  const path = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = path.indexOf('/');
  const container = slash === -1 ? path : path.slice(0, slash);
  const object = slash === -1 ? '' : path.slice(slash + 1);
  if (!container || !object) throw new HttpError(412, message);
  return { container, object };
}

function accountHeader(value: string): string {
  const decoded = decodeComponent(value) ?? value;
  if (!decoded) throw new HttpError(412, 'Account name cannot be empty');
  if (decoded.includes('/')) throw new HttpError(412, 'Account name cannot contain slashes');
  return decoded;
}

async function copyObject(ctx: Ctx): Promise<void> {
  const h = ctx.req.headers;
  const dest = header(h, 'destination');
  if (!dest) throw new HttpError(412, 'Destination header required');
  let destAccount = ctx.account;
  const da = header(h, 'destination-account');
  if (da !== undefined) destAccount = accountHeader(da);
  const d = pathHeader(dest, 'Destination header must be of the form <container name>/<object name>');
  const { container, object } = names(ctx);
  await copyInto(ctx, { account: ctx.account, container, object }, { account: destAccount, container: d.container, object: d.object });
}

/**
 * The copy middleware's PUT: reads the source as a GET would (its authorization and
 * conditionals), then writes the destination as a PUT would.
 */
async function copyInto(ctx: Ctx, source: PathRef | undefined, dst: PathRef): Promise<void> {
  const h = ctx.req.headers;
  let src = source;
  if (!src) {
    const lengthHeader = h['content-length'];
    if (lengthHeader !== undefined && Number(lengthHeader) > 0) throw new HttpError(400, 'Copy requests require a zero byte body');
    const fromAccount = header(h, 'x-copy-from-account');
    const p = pathHeader(header(h, 'x-copy-from') ?? '', 'X-Copy-From header must be of the form <container name>/<object name>');
    src = { account: fromAccount !== undefined ? accountHeader(fromAccount) : ctx.account, container: p.container, object: p.object };
  }
  const ns = ctx.deps.namespace;
  await requireAccess(ctx, { method: 'GET', account: src.account, container: src.container, object: src.object, isListing: false });
  const srcRec = await ns.getObject(src.account, src.container, src.object);
  if (!srcRec) throw httpErrors.notFound();
  const cond = conditionalStatus(h, srcRec.etag, lastModifiedSeconds(srcRec));
  if (cond !== undefined) throw new HttpError(cond, cond === 304 ? '' : undefined);
  if (srcRec.size > ns.constraints.max_file_size) throw httpErrors.tooLarge();

  const access = await requireAccess(ctx, { method: 'PUT', account: dst.account, container: dst.container, object: dst.object, isListing: false });
  await requireContainerExists(ctx, dst.account, dst.container, access.container);
  checkObjectName(ctx, dst.object);
  checkMetadataHeaders(h, 'object', ns.constraints);
  const fresh = ['true', '1', 'yes', 'on', 't', 'y'].includes((header(h, 'x-fresh-metadata') ?? '').toLowerCase());
  const patch = metadataPatch(h, 'object');
  const opts: CopyObjectOptions = { meta: patch.set, fresh, headers: storedHeaders(ctx) };
  const given = header(h, 'content-type');
  const detect = ['true', '1', 'yes', 'on', 't', 'y'].includes((header(h, 'x-detect-content-type') ?? '').toLowerCase());
  if (detect) opts.contentType = guessType(dst.object);
  else if (given) opts.contentType = given;
  const deleteAt = deleteAtFrom(ctx);
  if (deleteAt !== undefined) opts.deleteAt = deleteAt;
  else if (fresh) opts.deleteAt = null;
  // The copy middleware reads the source with the client's headers, Range included.
  const ranges = h.range === undefined ? undefined : rangesForLength(parseRange(h.range), srcRec.size);
  if (ranges && ranges.length === 0) throw new HttpError(416, undefined, undefined, [['Content-Range', `bytes */${srcRec.size}`]]);
  const { source: used, record } =
    ranges && ranges.length === 1 && srcRec.size > 0
      ? await copyRange(ctx, srcRec, dst, ranges[0] as [number, number], opts)
      : await ns.copyObject(
          { account: src.account, container: src.container, name: src.object },
          { account: dst.account, container: dst.container, name: dst.object },
          opts,
        );
  const out: HeaderList = [
    ['Content-Type', HTML],
    ['Etag', record.etag],
    ['Last-Modified', httpDate(lastModifiedSeconds(record))],
    ['X-Copied-From-Account', encodeURIComponent(src.account)],
    ['X-Copied-From', quotePath(`${src.container}/${src.object}`)],
    ['X-Copied-From-Last-Modified', httpDate(lastModifiedSeconds(used))],
  ];
  metaHeaders(record.meta, 'object', out);
  if (record.deleteAt !== undefined) out.push(['X-Delete-At', String(record.deleteAt)]);
  await applyEtagQuoting(ctx, out, dst.account, dst.container);
  sendBody(ctx.res, ctx.transId, 201, out);
}

/** A ranged copy: the selected bytes of the source become the new object. */
async function copyRange(
  ctx: Ctx,
  srcRec: ObjectRecord,
  dst: PathRef,
  [start, end]: [number, number],
  opts: CopyObjectOptions,
): Promise<{ source: ObjectRecord; record: ObjectRecord }> {
  const ns = ctx.deps.namespace;
  const opened = await ns.openObject(srcRec, { start, end: end - 1 });
  const base = opened.record;
  const put: PutObjectOptions = {
    contentType: opts.contentType ?? base.contentType,
    meta: opts.fresh ? { ...(opts.meta ?? {}) } : { ...base.meta, ...(opts.meta ?? {}) },
    headers: opts.fresh ? { ...(opts.headers ?? {}) } : { ...base.headers, ...(opts.headers ?? {}) },
    expectedSize: end - start,
  };
  const deleteAt = opts.deleteAt === undefined ? base.deleteAt : (opts.deleteAt ?? undefined);
  if (deleteAt !== undefined) put.deleteAt = deleteAt;
  const record = await ns.putObject(dst.account, dst.container, dst.object, opened.stream, put);
  return { source: base, record };
}

/** Python's urllib.parse.quote(path) with '/' safe. */
export function quotePath(p: string): string {
  return encodeURIComponent(p).replace(/%2F/g, '/').replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

// ---------------------------------------------------------------------- POST

async function postObject(ctx: Ctx): Promise<void> {
  const { container, object } = names(ctx);
  const h = ctx.req.headers;
  await requireAccess(ctx);
  const ns = ctx.deps.namespace;
  checkMetadataHeaders(h, 'object', ns.constraints);
  const deleteAt = deleteAtFrom(ctx);
  checkManifestHeader(ctx);
  // A missing or expired object is a 404 from updateObjectMeta itself (no read before it).
  const patch = metadataPatch(h, 'object');
  // Swift's POST replaces user metadata and the stored headers wholesale.
  const headers: Record<string, string | null> = {};
  for (const k of STORED_HEADERS) headers[k] = header(h, k) ?? null;
  const update: Parameters<typeof ns.updateObjectMeta>[3] = {
    meta: { set: patch.set, replace: true },
    headers,
    deleteAt: deleteAt ?? null,
  };
  const ct = header(h, 'content-type');
  const detect = ['true', '1', 'yes', 'on', 't', 'y'].includes((header(h, 'x-detect-content-type') ?? '').toLowerCase());
  if (detect) update.contentType = guessType(object);
  else if (ct) update.contentType = ct;
  await ns.updateObjectMeta(ctx.account, container, object, update);
  sendBody(ctx.res, ctx.transId, 202, [['Content-Type', HTML]], defaultBody(202));
}

// -------------------------------------------------------------------- DELETE

async function deleteObject(ctx: Ctx): Promise<void> {
  const { container, object } = names(ctx);
  await requireAccess(ctx);
  const ifDeleteAt = header(ctx.req.headers, 'x-if-delete-at');
  if (ifDeleteAt !== undefined) {
    const want = pyInt(ifDeleteAt);
    if (want === undefined) throw new HttpError(400, 'Bad X-If-Delete-At header value');
    const rec = await ctx.deps.namespace.getObject(ctx.account, container, object);
    if (rec && (rec.deleteAt ?? 0) !== want) throw httpErrors.preconditionFailed();
  }
  await ctx.deps.namespace.deleteObject(ctx.account, container, object);
  sendBody(ctx.res, ctx.transId, 204, [['Content-Type', HTML]]);
}
