/** Account requests: HEAD/GET (stats, metadata, container listing), POST, and PUT/DELETE for reseller admins. */
import { cleanAccountAcl } from '../../auth/account-acl.ts';
import type { AccountRecord } from '../../src/core/types.ts';
import { nowTimestamp } from '../../src/core/timestamp.ts';
import { requireAccess } from './access.ts';
import { handleChangeStream, isChangeStreamRequest } from './changes.ts';
import { type Ctx, SYSMETA } from './context.ts';
import { defaultBody, HTML, HttpError, httpErrors } from './errors.ts';
import { checkMergedMetadata, checkMetadataHeaders, header, metaHeaders, metadataPatch, toPatch, withoutOwnerMeta } from './headers.ts';
import { listingFormat, renderContainers } from './listing-render.ts';
import { listQuery } from './listing-query.ts';
import { type HeaderList, sendBody } from './response.ts';

const QUOTA_HEADERS = ['x-account-meta-quota-bytes', 'x-remove-account-meta-quota-bytes'];

function checkAccountName(ctx: Ctx): void {
  const max = ctx.deps.namespace.constraints.max_account_name_length;
  const len = Buffer.byteLength(ctx.account);
  if (len > max) throw new HttpError(400, `Account name length of ${len} longer than ${max}`);
}

export async function handleAccount(ctx: Ctx): Promise<void> {
  switch (ctx.method) {
    case 'HEAD':
    case 'GET':
      // ?changes: the long-lived change stream of remote mounts (changes.ts).
      return isChangeStreamRequest(ctx) ? handleChangeStream(ctx) : getAccount(ctx);
    case 'POST':
      return postAccount(ctx);
    case 'PUT':
      return putAccount(ctx);
    case 'DELETE':
      return deleteAccount(ctx);
    default:
      throw httpErrors.methodNotAllowed('DELETE, GET, HEAD, POST, PUT');
  }
}

function accountHeaders(rec: AccountRecord | undefined, owner: boolean): HeaderList {
  const ts = rec?.createdAt ?? nowTimestamp();
  const h: HeaderList = [
    ['X-Account-Container-Count', String(rec?.containerCount ?? 0)],
    ['X-Account-Object-Count', String(rec?.objectCount ?? 0)],
    ['X-Account-Bytes-Used', String(rec?.bytesUsed ?? 0)],
    ['X-Timestamp', ts],
    ['X-Put-Timestamp', rec?.putTimestamp ?? ts],
  ];
  if (rec && rec.containerCount > 0) {
    h.push(
      ['X-Account-Storage-Policy-Policy-0-Container-Count', String(rec.containerCount)],
      ['X-Account-Storage-Policy-Policy-0-Object-Count', String(rec.objectCount)],
      ['X-Account-Storage-Policy-Policy-0-Bytes-Used', String(rec.bytesUsed)],
    );
  }
  if (rec) {
    const meta = owner ? rec.meta : withoutOwnerMeta(rec.meta);
    metaHeaders(meta, 'account', h);
    if (owner && rec.sysmeta[SYSMETA.accountAcl]) {
      const acl = rec.sysmeta[SYSMETA.accountAcl];
      if (acl && acl !== '{}') h.push(['X-Account-Access-Control', acl]);
    }
    if (rec.sysmeta[SYSMETA.rfcEtags]) h.push(['X-Account-Rfc-Compliant-Etags', rec.sysmeta[SYSMETA.rfcEtags] as string]);
  }
  return h;
}

async function getAccount(ctx: Ctx): Promise<void> {
  checkAccountName(ctx);
  const { owner } = await requireAccess(ctx);
  const format = listingFormat(ctx.query.get('format'), header(ctx.req.headers, 'accept'));
  const rec = await ctx.deps.namespace.getAccount(ctx.account);
  const h = accountHeaders(rec, owner);
  h.push(['Content-Type', `${format}; charset=utf-8`], ['Accept-Ranges', 'bytes']);
  if (!ctx.query.has('format')) h.push(['Vary', 'Accept']);
  if (ctx.method === 'HEAD') {
    sendBody(ctx.res, ctx.transId, 204, h, undefined, true);
    return;
  }
  const q = listQuery(ctx.query, ctx.deps.namespace.constraints.account_listing_limit, false);
  const listing = rec ? await ctx.deps.namespace.listContainers(ctx.account, q) : [];
  const body = renderContainers(listing, format, ctx.account);
  sendBody(ctx.res, ctx.transId, body ? 200 : 204, h, body);
}

/** Account metadata and settings a request asks to change; validates first, writes nothing. */
function accountUpdate(ctx: Ctx, owner: boolean) {
  const c = ctx.deps.namespace.constraints;
  checkMetadataHeaders(ctx.req.headers, 'account', c);
  const patch = metadataPatch(ctx.req.headers, 'account');
  if (!owner) {
    for (const k of ['temp-url-key', 'temp-url-key-2']) {
      delete patch.set[k];
      patch.remove = patch.remove.filter((r) => r !== k);
    }
  }
  const sysSet: Record<string, string> = {};
  const aclHeader = header(ctx.req.headers, 'x-account-access-control');
  if (aclHeader !== undefined && owner) {
    const cleaned = cleanAccountAcl(aclHeader);
    sysSet[SYSMETA.accountAcl] = cleaned === '{}' ? '' : cleaned;
  }
  const rfc = header(ctx.req.headers, 'x-account-rfc-compliant-etags');
  if (rfc !== undefined) sysSet[SYSMETA.rfcEtags] = rfc === '' ? '' : isTrue(rfc) ? 'True' : 'False';
  const update = { meta: toPatch(patch), sysmeta: { set: sysSet } };
  return update;
}

export function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 'yes', 'on', 't', 'y'].includes(v.trim().toLowerCase());
}

async function postAccount(ctx: Ctx): Promise<void> {
  checkAccountName(ctx);
  const setsQuota = QUOTA_HEADERS.some((h) => h in ctx.req.headers);
  const { owner } = await requireAccess(ctx, { setsAccountQuota: setsQuota && !ctx.reseller });
  if (setsQuota && !ctx.reseller) throw httpErrors.forbidden();
  if (setsQuota) checkQuotaValue(ctx);
  const update = accountUpdate(ctx, owner);
  const existing = await ctx.deps.namespace.getAccount(ctx.account);
  if (existing) checkMergedMetadata(existing.meta, update.meta.set ?? {}, update.meta.remove ?? [], ctx.deps.namespace.constraints);
  const rec = await ctx.deps.namespace.updateAccount(ctx.account, update);
  const h = accountHeaders(rec, owner);
  h.push(['Content-Type', HTML]);
  sendBody(ctx.res, ctx.transId, 204, h);
}

function checkQuotaValue(ctx: Ctx): void {
  const v = header(ctx.req.headers, 'x-account-meta-quota-bytes');
  if (v !== undefined && v !== '' && !/^-?\d+$/.test(v.trim())) throw httpErrors.badRequest();
}

async function putAccount(ctx: Ctx): Promise<void> {
  checkAccountName(ctx);
  const { owner } = await requireAccess(ctx);
  const update = accountUpdate(ctx, owner);
  const { created } = await ctx.deps.namespace.createAccount(ctx.account, update);
  const status = created ? 201 : 202;
  sendBody(ctx.res, ctx.transId, status, [['Content-Type', HTML]], defaultBody(status));
}

async function deleteAccount(ctx: Ctx): Promise<void> {
  if (ctx.req.url?.includes('?')) throw httpErrors.badRequest();
  await requireAccess(ctx);
  await ctx.deps.namespace.deleteAccount(ctx.account);
  sendBody(ctx.res, ctx.transId, 204, [['Content-Type', HTML]]);
}
