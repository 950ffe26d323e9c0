/**
 * Who is asking and whether they may: token → identity through TokenService (cached),
 * then tempauth's decision (auth/authorize.ts), fetching container ACLs and the
 * account ACL only when the quick owner check did not already allow the request.
 */
import type { IncomingMessage } from 'node:http';
import { type AuthorizeRequest, authorize } from '../../auth/authorize.ts';
import type { Identity } from '../../auth/identity.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { ContainerSettings } from '../../src/core/namespace.ts';
import { type Ctx, SYSMETA } from './context.ts';
import { HttpError, httpErrors } from './errors.ts';

/** The identity behind X-Auth-Token / X-Storage-Token; 401 for a token tempauth would own but does not know. */
export async function authenticate(tokens: TokenService, req: IncomingMessage, realm: string): Promise<Identity | undefined> {
  const raw = req.headers['x-auth-token'] ?? req.headers['x-storage-token'];
  const token = Array.isArray(raw) ? raw[0] : raw;
  if (!token) return undefined;
  // tempauth only speaks for tokens with its prefix; others are treated as anonymous.
  if (!token.startsWith('AUTH_')) return undefined;
  const identity = await tokens.validate(token);
  if (!identity) throw httpErrors.unauthorized(realm);
  return identity;
}

/**
 * The identity behind X-Service-Token, if any and valid. As tempauth, an unknown or
 * expired service token is not an error: its groups simply do not join the user's.
 */
export async function authenticateService(tokens: TokenService, req: IncomingMessage): Promise<Identity | undefined> {
  const raw = req.headers['x-service-token'];
  const token = Array.isArray(raw) ? raw[0] : raw;
  if (!token) return undefined;
  return tokens.validate(token);
}

export interface AccessOptions {
  /** The method authorization sees (COPY's halves are GET and PUT). */
  method?: string;
  account?: string;
  container?: string;
  object?: string;
  isListing?: boolean;
  setsAccountQuota?: boolean;
  /** Container settings already read, if any. */
  containerRecord?: ContainerSettings | null;
}

/**
 * Throws 401/403 unless allowed; returns whether the caller is an owner and the
 * container settings it had to read (undefined: not read; null: missing). Settings come
 * from the worker's cache, which container/account events clear before any write of
 * them is acknowledged, so an ACL change is enforced by every worker at once.
 */
export async function requireAccess(ctx: Ctx, opts: AccessOptions = {}): Promise<{ owner: boolean; container?: ContainerSettings | null }> {
  const account = opts.account ?? ctx.account;
  const container = 'container' in opts ? opts.container : ctx.container;
  const object = 'object' in opts ? opts.object : ctx.object;
  const base: AuthorizeRequest = {
    method: opts.method ?? ctx.method,
    account,
    isListing: opts.isListing ?? (container !== undefined && object === undefined),
  };
  if (ctx.identity) {
    base.identity = ctx.identity;
    // tempauth reads X-Service-Token only alongside a valid user token.
    const service = await authenticateService(ctx.deps.tokens, ctx.req);
    if (service) base.serviceIdentity = service;
  }
  if (container !== undefined) base.container = container;
  if (object !== undefined) base.object = object;
  const referer = ctx.req.headers.referer;
  if (referer) base.referrer = referer;
  if (opts.setsAccountQuota) base.setsAccountQuota = true;

  const first = authorize(base);
  if (first.allowed) return { owner: first.owner };
  if (opts.setsAccountQuota) throw deny(ctx, account);

  let rec: ContainerSettings | null | undefined = opts.containerRecord;
  const full: AuthorizeRequest = { ...base };
  if (container !== undefined) {
    if (rec === undefined) rec = (await ctx.deps.namespace.getContainerSettings(account, container)) ?? null;
    if (rec) {
      full.readAcl = rec.readAcl;
      full.writeAcl = rec.writeAcl;
    }
  }
  if (ctx.identity) {
    const acct = await ctx.deps.namespace.getAccountSettings(account);
    const acl = acct?.sysmeta[SYSMETA.accountAcl];
    if (acl) full.accountAcl = acl;
  }
  const second = authorize(full);
  if (second.allowed) return rec === undefined ? { owner: second.owner } : { owner: second.owner, container: rec };
  throw deny(ctx, account);
}

function deny(ctx: Ctx, account: string): HttpError {
  return ctx.identity ? httpErrors.forbidden() : httpErrors.unauthorized(account);
}
