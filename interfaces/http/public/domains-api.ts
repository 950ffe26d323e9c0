/**
 * `/domains[/<host>]`: custom domains over HTTP with a Swift token. Account admins map
 * domains into their own account only; reseller admins anywhere (DomainDirectory.add's
 * actingAccount). A tenant can never claim a name the gateway itself answers to.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DomainRecord } from '../../../src/metadata/store.ts';
import { type DomainDirectory, normalizeHost } from '../../../src/domains.ts';
import { authenticate } from '../access.ts';
import type { HttpDeps } from '../context.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { header } from '../headers.ts';
import { decodeComponent, parseQuery, splitUrl } from '../request-context.ts';
import { newTransId, sendBody } from '../response.ts';
import { sendError } from '../swift-handler.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Whether a raw URL is this endpoint's (cheap: checked on API requests). */
export function isDomainsPath(url: string): boolean {
  return url.startsWith('/domains') && (url.length === 8 || url[8] === '/' || url[8] === '?');
}

export interface DomainsApiOptions {
  directory: DomainDirectory;
  /** Names the gateway answers to (API hosts, storage domain): never tenants' domains. */
  reserved(host: string): boolean;
}

const view = (d: DomainRecord) => ({ domain: d.domain, account: d.account, container: d.container });

export async function handleDomainsApi(deps: HttpDeps, opts: DomainsApiOptions, req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
  const transId = newTransId();
  const method = req.method ?? 'GET';
  try {
    const { path, query } = splitUrl(url);
    const rawName = path.length > 9 ? path.slice(9) : '';
    const name = decodeComponent(rawName);
    if (name === undefined || name.includes('/')) throw new HttpError(400, 'Bad domain name');
    const identity = await authenticate(deps.tokens, req, 'domains');
    if (!identity) throw httpErrors.unauthorized('domains');
    if (!identity.isAdmin && !identity.isResellerAdmin) throw httpErrors.forbidden();
    const acting = identity.isResellerAdmin ? undefined : identity.storageAccount;
    const send = (status: number, body: unknown) => sendBody(res, transId, status, [['Content-Type', JSON_TYPE]], JSON.stringify(body), method === 'HEAD');

    if (name === '') {
      if (method !== 'GET' && method !== 'HEAD') throw httpErrors.methodNotAllowed('GET, HEAD');
      const account = acting ?? parseQuery(query).get('account');
      return send(200, (await opts.directory.list(account || undefined)).map(view));
    }
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const rec = await opts.directory.resolve(name);
        if (!rec || (acting !== undefined && rec.account !== acting)) throw httpErrors.notFound();
        return send(200, view(rec));
      }
      case 'PUT': {
        const container = header(req.headers, 'x-domain-container');
        if (!container) throw new HttpError(400, 'X-Domain-Container header required');
        const account = header(req.headers, 'x-domain-account') ?? identity.storageAccount;
        const host = normalizeHost(name);
        if (acting !== undefined && host !== undefined && (opts.reserved(host) || host === normalizeHost(req.headers.host)))
          throw httpErrors.forbidden();
        return send(201, view(await opts.directory.add(name, account, container, acting)));
      }
      case 'DELETE': {
        if (!(await opts.directory.remove(name, acting))) throw httpErrors.notFound();
        sendBody(res, transId, 204, [['Content-Type', JSON_TYPE]]);
        return;
      }
      default:
        throw httpErrors.methodNotAllowed('DELETE, GET, HEAD, PUT');
    }
  } catch (err) {
    try {
      sendError(res, transId, err, 'domains', method);
    } catch {
      res.destroy();
    }
  }
}
