/** Container requests: PUT (201/202), POST, HEAD/GET (stats, metadata, object listing), DELETE. */
import { cleanAcl } from '../../auth/acl.ts';
import type { ContainerRecord } from '../../src/core/types.ts';
import { requireAccess } from './access.ts';
import { type Ctx, SYSMETA } from './context.ts';
import { defaultBody, HTML, HttpError, httpErrors } from './errors.ts';
import { checkMergedMetadata, checkMetadataHeaders, header, metaHeaders, metadataPatch, withoutOwnerMeta } from './headers.ts';
import { listQuery } from './listing-query.ts';
import { listingFormat, renderObjects } from './listing-render.ts';
import { type HeaderList, headerValue, sendBody } from './response.ts';

export const POLICY_NAME = 'Policy-0';

/** Container sync settings: owner-only, kept as container sysmeta. */
const SYNC_HEADERS = [
  ['x-container-sync-to', 'sync-to', 'X-Container-Sync-To'],
  ['x-container-sync-key', 'sync-key', 'X-Container-Sync-Key'],
] as const;

export async function handleContainer(ctx: Ctx): Promise<void> {
  switch (ctx.method) {
    case 'HEAD':
    case 'GET':
      return getContainer(ctx);
    case 'PUT':
      return putContainer(ctx);
    case 'POST':
      return postContainer(ctx);
    case 'DELETE':
      return deleteContainer(ctx);
    default:
      throw httpErrors.methodNotAllowed('DELETE, GET, HEAD, POST, PUT');
  }
}

function containerName(ctx: Ctx): string {
  return ctx.container as string;
}

function ceilSeconds(ts: string): number {
  return Math.ceil(Number.parseFloat(ts));
}

function containerHeaders(rec: ContainerRecord, owner: boolean): HeaderList {
  const h: HeaderList = [
    ['X-Container-Object-Count', String(rec.objectCount)],
    ['X-Container-Bytes-Used', String(rec.bytesUsed)],
    ['X-Timestamp', rec.createdAt],
    ['X-Put-Timestamp', rec.putTimestamp],
    ['Last-Modified', new Date(ceilSeconds(rec.putTimestamp) * 1000).toUTCString()],
    ['X-Storage-Policy', POLICY_NAME],
  ];
  const meta = owner ? rec.meta : withoutOwnerMeta(rec.meta);
  metaHeaders(meta, 'container', h);
  if (owner) {
    if (rec.readAcl) h.push(['X-Container-Read', headerValue(rec.readAcl)]);
    if (rec.writeAcl) h.push(['X-Container-Write', headerValue(rec.writeAcl)]);
    for (const [, key, name] of SYNC_HEADERS) {
      const v = rec.sysmeta[key];
      if (v) h.push([name, headerValue(v)]);
    }
  }
  const rfc = rec.sysmeta[SYSMETA.rfcEtags];
  if (rfc) h.push(['X-Container-Rfc-Compliant-Etags', rfc]);
  return h;
}

async function getContainer(ctx: Ctx): Promise<void> {
  const name = containerName(ctx);
  const access = await requireAccess(ctx);
  // The access check may have read only settings: the counts come from the record.
  const rec = access.container === null ? undefined : await ctx.deps.namespace.getContainer(ctx.account, name);
  if (!rec) throw httpErrors.notFound();
  const format = listingFormat(ctx.query.get('format'), header(ctx.req.headers, 'accept'));
  const h = containerHeaders(rec, access.owner);
  h.push(['Content-Type', `${format}; charset=utf-8`], ['Accept-Ranges', 'bytes']);
  if (!ctx.query.has('format')) h.push(['Vary', 'Accept']);
  if (ctx.method === 'HEAD') {
    sendBody(ctx.res, ctx.transId, 204, h, undefined, true);
    return;
  }
  const q = listQuery(ctx.query, ctx.deps.namespace.constraints.container_listing_limit, true);
  const listing = await ctx.deps.namespace.listObjects(ctx.account, name, q);
  const body = renderObjects(listing, format, name);
  sendBody(ctx.res, ctx.transId, body ? 200 : 204, h, body);
}

interface ContainerChanges {
  meta: Record<string, string>;
  remove: string[];
  readAcl?: string;
  writeAcl?: string;
  sysmeta: Record<string, string>;
}

/** Validates everything a PUT/POST asks for before anything is written. */
function containerChanges(ctx: Ctx, owner: boolean): ContainerChanges {
  const h = ctx.req.headers;
  const changes: ContainerChanges = { meta: {}, remove: [], sysmeta: {} };
  for (const [hdr, kind] of [
    ['x-container-read', 'read'],
    ['x-container-write', 'write'],
  ] as const) {
    const v = header(h, hdr);
    if (v === undefined) continue;
    const cleaned = cleanAcl(v, kind);
    if (!owner) continue; // Swift drops owner-only headers from everyone else
    if (kind === 'read') changes.readAcl = cleaned;
    else changes.writeAcl = cleaned;
  }
  checkMetadataHeaders(h, 'container', ctx.deps.namespace.constraints);
  for (const [q, msg] of [
    ['x-container-meta-quota-bytes', 'Invalid bytes quota.'],
    ['x-container-meta-quota-count', 'Invalid count quota.'],
  ] as const) {
    const v = header(h, q);
    if (v !== undefined && v !== '' && !/^-?\d+$/.test(v.trim())) throw new HttpError(400, msg);
  }
  const patch = metadataPatch(h, 'container');
  changes.meta = patch.set;
  changes.remove = patch.remove;
  if (!owner) {
    for (const k of ['temp-url-key', 'temp-url-key-2']) delete changes.meta[k];
    changes.remove = changes.remove.filter((k) => k !== 'temp-url-key' && k !== 'temp-url-key-2');
  }
  if (owner) {
    for (const [hdr, key] of SYNC_HEADERS) {
      const v = header(h, hdr);
      if (v !== undefined) changes.sysmeta[key] = v;
    }
  }
  const rfc = header(h, 'x-container-rfc-compliant-etags');
  if (rfc !== undefined) changes.sysmeta['rfc-compliant-etags'] = rfc === '' ? '' : isTrueish(rfc) ? 'True' : 'False';
  return changes;
}

function isTrueish(v: string): boolean {
  return ['true', '1', 'yes', 'on', 't', 'y'].includes(v.trim().toLowerCase());
}

async function putContainer(ctx: Ctx): Promise<void> {
  const name = containerName(ctx);
  const { owner } = await requireAccess(ctx);
  const max = ctx.deps.namespace.constraints.max_container_name_length;
  const len = Buffer.byteLength(name);
  if (len > max) throw new HttpError(400, `Container name length of ${len} longer than ${max}`, HTML);
  const policy = header(ctx.req.headers, 'x-storage-policy');
  const existing = await ctx.deps.namespace.getContainerSettings(ctx.account, name);
  if (policy !== undefined && policy.trim() !== '') {
    if (policy.trim().toLowerCase() !== POLICY_NAME.toLowerCase()) throw new HttpError(400, `Invalid X-Storage-Policy '${policy}'`);
  }
  const changes = containerChanges(ctx, owner);
  if (existing) checkMergedMetadata(existing.meta, changes.meta, changes.remove, ctx.deps.namespace.constraints);
  const meta: Record<string, string> = { ...changes.meta };
  for (const k of changes.remove) meta[k] = '';
  const init: { meta: Record<string, string>; sysmeta: Record<string, string>; readAcl?: string; writeAcl?: string } = {
    meta,
    sysmeta: changes.sysmeta,
  };
  if (changes.readAcl !== undefined) init.readAcl = changes.readAcl;
  if (changes.writeAcl !== undefined) init.writeAcl = changes.writeAcl;
  const { created } = await ctx.deps.namespace.createContainer(ctx.account, name, init);
  void existing;
  const status = created ? 201 : 202;
  sendBody(ctx.res, ctx.transId, status, [['Content-Type', HTML]], defaultBody(status));
}

async function postContainer(ctx: Ctx): Promise<void> {
  const name = containerName(ctx);
  const { owner } = await requireAccess(ctx);
  const changes = containerChanges(ctx, owner);
  const existing = await ctx.deps.namespace.getContainerSettings(ctx.account, name);
  if (!existing) throw httpErrors.notFound();
  checkMergedMetadata(existing.meta, changes.meta, changes.remove, ctx.deps.namespace.constraints);
  const update: Parameters<typeof ctx.deps.namespace.updateContainer>[2] = {
    meta: { set: changes.meta, remove: changes.remove },
    sysmeta: { set: changes.sysmeta },
  };
  if (changes.readAcl !== undefined) update.readAcl = changes.readAcl;
  if (changes.writeAcl !== undefined) update.writeAcl = changes.writeAcl;
  await ctx.deps.namespace.updateContainer(ctx.account, name, update);
  sendBody(ctx.res, ctx.transId, 204, [['Content-Type', HTML]]);
}

async function deleteContainer(ctx: Ctx): Promise<void> {
  const name = containerName(ctx);
  await requireAccess(ctx);
  await ctx.deps.namespace.deleteContainer(ctx.account, name);
  sendBody(ctx.res, ctx.transId, 204, [['Content-Type', HTML]]);
}
