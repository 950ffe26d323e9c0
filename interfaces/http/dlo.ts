/**
 * Dynamic large objects (Swift's dlo middleware): GET/HEAD of an object whose
 * X-Object-Manifest is "<container>/<prefix>" returns its segments — the objects of that
 * container under the prefix, in listing order — as one body.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { ObjectListEntry, ObjectRecord } from '../../src/core/types.ts';
import { requireAccess } from './access.ts';
import { conditionalStatus } from './conditional.ts';
import type { Ctx } from './context.ts';
import { defaultBody, HttpError } from './errors.ts';
import { contentRange, parseRange, rangesForLength } from './ranges.ts';
import { type HeaderList, sendBody, sendStream } from './response.ts';
import { decodeComponent } from './request-context.ts';

/** dlo's PUT check: "container/prefix", nothing odd. */
export function validateManifestHeader(value: string): void {
  const slash = value.indexOf('/');
  const container = slash === -1 ? '' : value.slice(0, slash);
  const prefix = slash === -1 ? '' : value.slice(slash + 1);
  if (!container || !prefix || value.includes('?') || value.includes('&') || prefix.startsWith('/'))
    throw new HttpError(400, 'X-Object-Manifest must be in the format container/prefix', 'text/html; charset=UTF-8');
}

/** Answers GET/HEAD of a manifest; `headers` are the manifest's own response headers. */
export async function sendManifest(ctx: Ctx, manifest: ObjectRecord, value: string, headers: HeaderList): Promise<void> {
  const ns = ctx.deps.namespace;
  const decoded = decodeComponent(value) ?? value;
  const slash = decoded.indexOf('/');
  const container = decoded.slice(0, slash);
  const prefix = decoded.slice(slash + 1);
  // Segments are read with the caller's own rights, as Swift's sub-request would.
  await requireAccess(ctx, { method: 'GET', container, object: undefined, isListing: true });
  const limit = ns.constraints.container_listing_limit;
  const listing = (await ns.getContainer(ctx.account, container))
    ? (await ns.listObjects(ctx.account, container, { prefix, limit })).filter((e): e is ObjectListEntry => e.kind === 'object')
    : [];
  const complete = listing.length < limit;
  const total = listing.reduce((n, s) => n + s.size, 0);
  const h = headers.filter(([k]) => k !== 'Etag' && k !== 'Content-Length');
  if (complete) {
    const md5 = createHash('md5');
    for (const s of listing) md5.update(s.etag);
    h.push(['Etag', `"${md5.digest('hex')}"`]);
  }
  const etag = complete ? (h[h.length - 1] as [string, string])[1].slice(1, -1) : manifest.etag;
  const cond = conditionalStatus(ctx.req.headers, etag, Math.ceil(Number.parseFloat(manifest.metaTimestamp)));
  if (cond !== undefined) {
    h.push(['Content-Length', '0']);
    sendBody(ctx.res, ctx.transId, cond, h, undefined, true);
    return;
  }
  let start = 0;
  let end = total;
  let status = 200;
  const specs = ctx.req.headers.range === undefined ? undefined : parseRange(ctx.req.headers.range);
  if (specs && specs.length === 1) {
    const ranges = rangesForLength(specs, total);
    if (ranges && ranges.length === 0) {
      const hh: HeaderList = [['Content-Type', 'text/html; charset=UTF-8'], ['Accept-Ranges', 'bytes'], ['Content-Range', `bytes */${total}`]];
      sendBody(ctx.res, ctx.transId, 416, hh, defaultBody(416), ctx.method === 'HEAD');
      return;
    }
    if (ranges && ranges.length === 1 && total > 0) {
      [start, end] = ranges[0] as [number, number];
      status = 206;
      h.push(['Content-Range', contentRange(start, end, total)]);
    }
  }
  h.push(['Content-Length', String(end - start)]);
  if (ctx.method === 'HEAD') {
    sendBody(ctx.res, ctx.transId, status, h, undefined, true);
    return;
  }
  await sendStream(ctx.res, ctx.transId, status, h, segmentStream(ctx, container, listing, start, end));
}

/** The bytes [start, end) of the concatenated segments, opened one at a time. */
function segmentStream(ctx: Ctx, container: string, segments: ObjectListEntry[], start: number, end: number): Readable {
  const out = new PassThrough();
  const ns = ctx.deps.namespace;
  void (async () => {
    let offset = 0;
    for (const seg of segments) {
      const segStart = offset;
      const segEnd = offset + seg.size;
      offset = segEnd;
      if (segEnd <= start || segStart >= end || seg.size === 0) continue;
      const rec = await ns.getObject(ctx.account, container, seg.name);
      if (!rec) throw new Error(`segment ${seg.name} vanished`);
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, segEnd) - segStart - 1;
      const { stream } = await ns.openObject(rec, { start: from, end: to });
      for await (const chunk of stream) {
        if (!out.write(chunk as Buffer)) await new Promise<void>((r) => out.once('drain', r));
        if (out.destroyed) {
          stream.destroy();
          return;
        }
      }
    }
    out.end();
  })().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}
