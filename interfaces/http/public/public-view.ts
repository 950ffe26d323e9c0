/**
 * Anonymous (or X-Web-Mode) GET/HEAD of a container or object: tempauth's referrer
 * ACLs, Swift's staticweb (index, error pages, listings, dir → dir/ redirects), and the
 * prepared-response hot path. Whatever is not one of these cases goes back to the
 * Swift handler unchanged (`delegate`), so the API's answers stay Swift's own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../../../auth/authorize.ts';
import type { Identity } from '../../../auth/identity.ts';
import type { ContainerRecord, ObjectRecord } from '../../../src/core/types.ts';
import { ABSENT } from '../../../src/cache/read-cache.ts';
import { SYSMETA, type HttpDeps } from '../context.ts';
import { defaultBody, HTML } from '../errors.ts';
import { newTransId, sendBody } from '../response.ts';
import { sendError } from '../swift-handler.ts';
import { answerConditional, answerSimpleRange, hasConditionals, needsAccount, prepare, streamPrepared, writePreparedHead } from './object-response.ts';
import { isDirMarker, type WebConfig, webConfig } from './web-config.ts';
import { disabledPage, listingPage, pyQuote } from './web-listing.ts';

export interface PublicRequest {
  deps: HttpDeps;
  req: IncomingMessage;
  res: ServerResponse;
  account: string;
  container: string;
  /** Decoded object name; '' for the container itself. */
  object: string;
  /** The decoded path the client asked for (Location headers, listing titles). */
  publicPath: string;
  /** Custom domains answer 404 where Swift says 401/403: no account name or private container shows. */
  hideDenials: boolean;
  identity: Identity | undefined;
  webMode: boolean;
  /** Hands the request, untouched, to the Swift API path. */
  delegate(): void;
}

const LISTING_LIMIT = 10_000;

export async function servePublic(p: PublicRequest): Promise<void> {
  if (p.object !== '' && serveHot(p)) return;
  try {
    if (p.object !== '') await serveObjectPath(p);
    else await serveContainerPath(p);
  } catch (err) {
    try {
      sendError(p.res, newTransId(), err, p.hideDenials ? 'unknown' : p.account, p.req.method ?? 'GET');
    } catch {
      p.res.destroy();
    }
  }
}

/** Anonymous object reads without a Referer, decided once per cached container record. */
const anonymousRead = new WeakMap<ContainerRecord, boolean>();

/**
 * The hottest case entirely from the core's cache, without a promise: an anonymous GET
 * or HEAD of a hot small object with no Range, conditionals, Origin or Referer.
 * false: not that case (or something was not cached) — the full path handles it.
 */
function serveHot(p: PublicRequest): boolean {
  const ns = p.deps.namespace;
  const cache = ns.cache;
  const h = p.req.headers;
  if (!cache || p.identity || h.range !== undefined || h.origin !== undefined || h.referer !== undefined || hasConditionals(h)) return false;
  const cont = cache.getContainer(p.account, p.container);
  if (cont === undefined || cont === ABSENT) return false;
  let ok = anonymousRead.get(cont);
  if (ok === undefined) {
    ok = authorize({ method: 'GET', account: p.account, container: p.container, object: p.object, readAcl: cont.readAcl, writeAcl: cont.writeAcl, isListing: false }).allowed;
    anonymousRead.set(cont, ok);
  }
  if (!ok) return false;
  const rec = cache.getObject(p.account, p.container, p.object);
  if (rec === undefined || rec === ABSENT || rec.headers['x-object-manifest'] !== undefined) return false;
  if (rec.deleteAt !== undefined && rec.deleteAt <= Date.now() / 1000) return false;
  const web = webConfig(cont);
  if (web && isDirMarker(rec, web)) return false;
  let acct;
  if (needsAccount(cont)) {
    acct = cache.getAccount(p.account);
    if (acct === undefined) return false;
    if (acct === ABSENT) acct = undefined;
  }
  const head = p.req.method === 'HEAD';
  const bytes = head ? undefined : cache.getBytes(rec.blobId);
  if (!head && !bytes) return false;
  writePreparedHead(p.res, prepare(rec, cont, acct), 200);
  p.res.end(bytes);
  return true;
}

/** Reads through the core's cache without a promise when the entry is hot. */
function containerOf(p: PublicRequest): ContainerRecord | undefined | Promise<ContainerRecord | undefined> {
  const hit = p.deps.namespace.cache?.getContainer(p.account, p.container);
  if (hit === ABSENT) return undefined;
  return hit ?? p.deps.namespace.getContainer(p.account, p.container);
}

async function allowed(p: PublicRequest, cont: ContainerRecord, isListing: boolean): Promise<boolean> {
  const base = {
    method: p.req.method ?? 'GET',
    account: p.account,
    container: p.container,
    ...(isListing ? {} : { object: p.object }),
    ...(p.req.headers.referer ? { referrer: p.req.headers.referer } : {}),
    ...(p.identity ? { identity: p.identity } : {}),
    readAcl: cont.readAcl,
    writeAcl: cont.writeAcl,
    isListing,
  };
  if (authorize(base).allowed) return true;
  if (!p.identity) return false;
  const acl = (await p.deps.namespace.getAccount(p.account))?.sysmeta[SYSMETA.accountAcl];
  return acl !== undefined && authorize({ ...base, accountAcl: acl }).allowed;
}

function deny(p: PublicRequest): void {
  if (!p.hideDenials) return p.delegate();
  sendBody(p.res, newTransId(), 404, [['Content-Type', HTML]], defaultBody(404), p.req.method === 'HEAD');
}

async function serveObjectPath(p: PublicRequest): Promise<void> {
  const ns = p.deps.namespace;
  const cont = await containerOf(p);
  if (!cont) return deny(p);
  if (!(await allowed(p, cont, false))) return deny(p);
  const web = webConfig(cont);
  const rec = await ns.getObject(p.account, p.container, p.object);
  if (rec && !(web && isDirMarker(rec, web))) return serveObject(p, rec, cont, 200);
  if (!web) return p.hideDenials ? notFound(p) : p.delegate();

  // staticweb: a directory's index, a redirect to the directory, or its listing.
  const slash = p.object.endsWith('/');
  if (web.index) {
    const idx = await ns.getObject(p.account, p.container, `${p.object}${slash ? '' : '/'}${web.index}`);
    if (idx) return slash ? serveObject(p, idx, cont, 200) : redirect(p);
  }
  if (!slash) {
    const one = await ns.listObjects(p.account, p.container, { prefix: `${p.object}/`, delimiter: '/', limit: 1 });
    return one.length === 0 ? errorPage(p, cont, web, 404) : redirect(p);
  }
  return listing(p, cont, web, p.object);
}

async function serveContainerPath(p: PublicRequest): Promise<void> {
  const cont = await containerOf(p);
  if (!cont) return deny(p);
  const web = webConfig(cont);
  if (!web) {
    if (p.webMode) return notFound(p);
    if (p.hideDenials && !(await allowed(p, cont, true))) return deny(p);
    return p.delegate();
  }
  if (!(await allowed(p, cont, true))) return deny(p);
  if (!p.publicPath.endsWith('/')) return redirect(p);
  if (web.index) {
    const idx = await p.deps.namespace.getObject(p.account, p.container, web.index);
    if (idx) return serveObject(p, idx, cont, 200);
  }
  return listing(p, cont, web, '');
}

async function listing(p: PublicRequest, cont: ContainerRecord, web: WebConfig, prefix: string): Promise<void> {
  const label = web.listingsLabel ? `${web.listingsLabel}/${prefix}` : p.publicPath;
  if (!web.listings) return errorPage(p, cont, web, 404, disabledPage(label, web.listingsCss || undefined, prefix, web.index || undefined));
  const entries = await p.deps.namespace.listObjects(p.account, p.container, { delimiter: '/', limit: LISTING_LIMIT, ...(prefix ? { prefix } : {}) });
  if (prefix && entries.length === 0) return errorPage(p, cont, web, 404);
  const body = listingPage(label, entries, prefix, web.listingsCss || undefined);
  sendBody(p.res, newTransId(), 200, [['Content-Type', 'text/html; charset=UTF-8']], body, p.req.method === 'HEAD');
}

/** Swift's _error_response: the site's `<status><web-error>` page with the original status, if it has one. */
async function errorPage(p: PublicRequest, cont: ContainerRecord, web: WebConfig, status: number, fallback?: string): Promise<void> {
  if (web.error) {
    const page = await p.deps.namespace.getObject(p.account, p.container, `${status}${web.error}`);
    if (page) return serveObject(p, page, cont, status);
  }
  sendBody(p.res, newTransId(), status, [['Content-Type', HTML]], fallback ?? defaultBody(status), p.req.method === 'HEAD');
}

function notFound(p: PublicRequest): void {
  sendBody(p.res, newTransId(), 404, [['Content-Type', HTML]], defaultBody(404), p.req.method === 'HEAD');
}

/**
 * dir → dir/ (301). Relative to the last segment, so the target stays on this host
 * whatever the path holds (a path of "//evil.example" cannot become a foreign URL).
 */
function redirect(p: PublicRequest): void {
  const last = p.publicPath.slice(p.publicPath.lastIndexOf('/') + 1);
  const location = `./${pyQuote(last)}/`;
  sendBody(p.res, newTransId(), 301, [['Content-Type', HTML], ['Location', location]], defaultBody(301), p.req.method === 'HEAD');
}

/**
 * An object's bytes: from memory under a prepared head when small and hot, streamed
 * otherwise; ranges beyond one in-memory range, manifests and CORS go to the Swift path.
 */
export async function serveObject(p: PublicRequest, rec: ObjectRecord, cont: ContainerRecord, status: number): Promise<void> {
  const ns = p.deps.namespace;
  const h = p.req.headers;
  if (status === 200 && (rec.headers['x-object-manifest'] !== undefined || h.origin !== undefined)) return p.delegate();
  const acct = needsAccount(cont) ? await ns.getAccount(p.account) : undefined;
  let prep = prepare(rec, cont, acct);
  if (status === 200 && hasConditionals(h) && answerConditional(p.res, h, prep)) return;
  if (p.req.method === 'HEAD') {
    writePreparedHead(p.res, prep, status);
    p.res.end();
    return;
  }
  const cache = ns.cache;
  let bytes = cache?.getBytes(rec.blobId);
  if (!bytes && cache && rec.size <= cache.maxObjectBytes) {
    const small = await ns.readSmallObject(rec);
    if (small) {
      bytes = small.bytes;
      if (small.record !== rec) prep = prepare(small.record, cont, acct);
    }
  }
  if (status === 200 && h.range !== undefined) {
    const done = bytes ? answerSimpleRange(p.res, h.range, prep, bytes) : false;
    if (done === true) return;
    if (done === false) return p.delegate();
  }
  if (bytes) {
    writePreparedHead(p.res, prep, status);
    p.res.end(bytes);
    return;
  }
  const opened = await ns.openObject(rec);
  if (opened.record !== rec) prep = prepare(opened.record, cont, acct);
  await streamPrepared(p.res, prep, status, opened.stream);
}
