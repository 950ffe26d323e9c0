/**
 * The /v1 entry: reads the raw URL, authenticates, and hands the request to the
 * account, container or object handler. Every failure ends here and is answered once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleAccount } from './account.ts';
import { authenticate } from './access.ts';
import { handleBulkDelete, handleExtractArchive } from './bulk.ts';
import { handleContainer } from './container.ts';
import { handleOptions, prepareCors } from './cors.ts';
import type { Ctx, HttpDeps } from './context.ts';
import { HttpError, toHttpError } from './errors.ts';
import { handleObject } from './object.ts';
import { parseQuery, parseSwiftPath, splitUrl } from './request-context.ts';
import { newTransId, sendBody } from './response.ts';

const VERSIONS = new Set(['v1', 'v1.0']);

export async function handleSwift(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, rawUrl: string): Promise<void> {
  const transId = newTransId();
  const method = req.method ?? 'GET';
  let realm = 'unknown';
  try {
    const { path, query } = splitUrl(rawUrl);
    const sp = parseSwiftPath(path);
    if (!sp || !sp.account) throw new HttpError(412, 'Bad URL');
    if (!VERSIONS.has(sp.version)) throw new HttpError(400, `Invalid path: ${path}`);
    realm = sp.account;
    // Preflights carry no credentials; tempauth lets them through to the CORS check.
    const identity = method === 'OPTIONS' ? undefined : await authenticate(deps.tokens, req, sp.account);
    const ctx: Ctx = {
      deps,
      req,
      res,
      method,
      transId,
      account: sp.account,
      version: sp.version,
      query: parseQuery(query),
      identity,
      owner: false,
      reseller: identity?.isResellerAdmin === true,
    };
    if (sp.container !== undefined) ctx.container = sp.container;
    if (sp.object !== undefined) ctx.object = sp.object;
    if (method === 'OPTIONS') return await handleOptions(ctx);
    await prepareCors(ctx);
    // Swift's bulk middleware sits in front of the controllers.
    const extract = ctx.query.get('extract-archive');
    if (extract !== undefined && method === 'PUT') return await handleExtractArchive(ctx, extract);
    if (ctx.query.has('bulk-delete') && (method === 'POST' || method === 'DELETE')) return await handleBulkDelete(ctx);
    if (ctx.object !== undefined) await handleObject(ctx);
    else if (ctx.container !== undefined) await handleContainer(ctx);
    else await handleAccount(ctx);
  } catch (err) {
    try {
      sendError(res, transId, err, realm, method);
    } catch {
      res.destroy();
    }
  }
}

export function sendError(res: ServerResponse, transId: string, err: unknown, realm: string, method: string): void {
  const e = toHttpError(err, realm);
  if (e.status === 500 && !(err instanceof HttpError)) {
    // Logged for operators; the client gets Swift's bare 500.
    console.error(`${transId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendBody(res, transId, e.status, [['Content-Type', e.contentType], ...e.headers], e.body, method === 'HEAD');
}
