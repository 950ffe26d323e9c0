/**
 * tempauth's token endpoint: GET /auth/v1.0 (and /auth/v1/<account>/auth, /v1.0) with
 * X-Auth-User "account:user" + X-Auth-Key, or the X-Storage-* spellings.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { storageAccountOf } from '../../auth/identity.ts';
import type { HttpDeps } from './context.ts';
import { HTML, HttpError, httpErrors, toHttpError } from './errors.ts';
import { header } from './headers.ts';
import { parseSwiftPath, splitUrl } from './request-context.ts';
import { newTransId, sendBody } from './response.ts';

function realmError(realm: string): HttpError {
  return httpErrors.unauthorized(realm);
}

/** Storage URL base: configured, or the scheme and Host the client used (tempauth's $HOST). */
export function hostUrl(deps: HttpDeps, req: IncomingMessage): string {
  if (deps.config.storageUrlBase) return deps.config.storageUrlBase.replace(/\/+$/, '');
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const scheme = encrypted ? 'https' : 'http';
  const host = req.headers.host ?? `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 80}`;
  return `${scheme}://${host}`;
}

async function credentials(req: IncomingMessage, path: string): Promise<{ account: string; user: string; key: string }> {
  const h = req.headers;
  const sp = parseSwiftPath(path);
  if (sp && sp.version === 'v1' && sp.container === 'auth') {
    // /v1/<account>/auth: the account comes from the path.
    const account = sp.account;
    let user = header(h, 'x-storage-user');
    if (!user) {
      const full = header(h, 'x-auth-user');
      if (!full || !full.includes(':')) throw realmError(account);
      const [acct2, ...rest] = full.split(':');
      if (acct2 !== account) throw realmError(account);
      user = rest.join(':');
    }
    const key = header(h, 'x-storage-pass') || header(h, 'x-auth-key') || '';
    if (!account || !user || !key) throw realmError(account);
    return { account, user, key };
  }
  if (sp && (sp.version === 'v1.0' || sp.version === 'auth') && !sp.account) {
    const full = header(h, 'x-auth-user') || header(h, 'x-storage-user');
    if (!full || !full.includes(':')) throw realmError('unknown');
    const colon = full.indexOf(':');
    const account = full.slice(0, colon);
    const user = full.slice(colon + 1);
    const key = header(h, 'x-auth-key') || header(h, 'x-storage-pass') || '';
    if (!account || !user || !key) throw realmError(account || 'unknown');
    return { account, user, key };
  }
  throw httpErrors.badRequest();
}

/** Handles a request under the auth prefix; `path` is the raw path with `/auth` removed. */
export async function handleAuth(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const transId = newTransId();
  try {
    if (req.method !== 'GET') throw httpErrors.badRequest();
    const { account, user, key } = await credentials(req, path);
    const record = await deps.users.verify(account, user, key);
    if (!record) throw realmError(account);
    const issued = await deps.tokens.issue(record);
    const url = `${hostUrl(deps, req)}/v1/${encodeURIComponent(storageAccountOf(record.account))}`;
    const expires = Math.max(0, Math.floor((issued.expiresAt - Date.now()) / 1000));
    sendBody(res, transId, 200, [
      ['Content-Type', HTML],
      ['X-Auth-Token', issued.token],
      ['X-Storage-Token', issued.token],
      ['X-Auth-Token-Expires', String(expires)],
      ['X-Storage-Url', url],
    ]);
  } catch (err) {
    const e = toHttpError(err);
    sendBody(res, transId, e.status, [['Content-Type', e.contentType], ...e.headers], e.body, req.method === 'HEAD');
  }
}

/** The auth prefix's paths: /auth/v1.0 → /v1.0 as tempauth strips its prefix. */
export function authPath(rawUrl: string): string | undefined {
  const { path } = splitUrl(rawUrl);
  if (path.startsWith('/auth/')) return path.slice('/auth'.length);
  if (path === '/v1.0' || path === '/v1.0/') return path;
  return undefined;
}
