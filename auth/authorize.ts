/**
 * The tempauth authorization decision as a pure function: who may do what to which
 * account, container or object, given the container's ACLs. The HTTP edge turns
 * 'unauthenticated' into 401 and 'forbidden' into 403.
 */
import { parseAccountAcl } from './account-acl.ts';
import { LISTINGS_DIRECTIVE, parseStoredAcl, referrerAllowed } from './acl.ts';
import { aclNamesOf, bareAccountOf, isResellerReader, requiredGroupOf } from './identity.ts';
import type { Identity } from './identity.ts';

export interface AuthorizeRequest {
  /** Absent for anonymous requests. */
  identity?: Identity;
  /**
   * The user behind a valid X-Service-Token, considered only alongside `identity`.
   * As tempauth merges the two tokens' groups, either may supply what is needed;
   * `SERVICE_` accounts need the `service` group from one of them before an
   * account admin is their owner.
   */
  serviceIdentity?: Identity;
  method: string;
  /** Storage account, "AUTH_test" or "SERVICE_test". */
  account: string;
  container?: string;
  object?: string;
  /** The HTTP Referer header. */
  referrer?: string;
  /** The container's X-Container-Read, as stored. */
  readAcl?: string;
  /** The container's X-Container-Write, as stored. */
  writeAcl?: string;
  /** Reads a container listing (container GET/HEAD); such reads need ".rlistings" for referrer access. */
  isListing: boolean;
  /** The request sets the account quota (account sysmeta), which only a reseller admin may. */
  setsAccountQuota?: boolean;
  /**
   * EXTRA (beyond container ACLs): the account's X-Account-Access-Control JSON, as
   * stored in its sysmeta. Grants admin / read-write / read-only across the account.
   */
  accountAcl?: string;
}

export type AuthorizeResult =
  | {
      allowed: true;
      /**
       * Swift's "swift_owner": may see and change owner-only headers (container ACLs,
       * sync keys, account ACLs). False for access granted only by an ACL or referrer.
       */
      owner: boolean;
    }
  | { allowed: false; reason: 'unauthenticated' | 'forbidden' };

const READ_METHODS = new Set(['GET', 'HEAD']);
const OBJECT_WRITE_METHODS = new Set(['PUT', 'POST', 'DELETE', 'COPY']);

export function authorize(req: AuthorizeRequest): AuthorizeResult {
  const method = req.method.toUpperCase();
  const identity = req.identity;
  const deny: AuthorizeResult = { allowed: false, reason: identity ? 'forbidden' : 'unauthenticated' };
  const bare = bareAccountOf(req.account);
  // tempauth only speaks for its own reseller prefix.
  if (bare === undefined) return deny;
  const dotAccount = bare.startsWith('.');
  // tempauth's REMOTE_USER: the user token's groups plus, if both are valid, the service token's.
  const who: Identity[] = identity ? (req.serviceIdentity ? [identity, req.serviceIdentity] : [identity]) : [];

  if (who.some((i) => i.isResellerAdmin) && !dotAccount) return { allowed: true, owner: true };
  if (who.some(isResellerReader) && !dotAccount && READ_METHODS.has(method)) {
    return { allowed: true, owner: false };
  }
  // The account_quotas middleware in Swift: everyone else is refused, owners included.
  if (req.setsAccountQuota) return deny;

  // Account admins own everything in their account except creating or deleting it.
  const accountLevelCreateOrDelete = req.container === undefined && (method === 'PUT' || method === 'DELETE');
  if (who.some((i) => i.isAdmin && i.account === bare) && !accountLevelCreateOrDelete) {
    // SERVICE_x: x's admins own it only with the required group (X-Service-Token), as tempauth.
    const required = requiredGroupOf(req.account);
    if (required === undefined || who.some((i) => aclNamesOf(i).includes(required))) return { allowed: true, owner: true };
  }

  // CORS preflight carries no credentials; the proxy answers it from container settings.
  if (method === 'OPTIONS') return { allowed: true, owner: false };

  const acl = applicableAcl(req, method);
  if (acl) {
    const { referrers, groups } = parseStoredAcl(acl.value);
    // Referrer rules only ever grant reads; Swift refuses them in write ACLs anyway.
    if (acl.kind === 'read' && referrerAllowed(req.referrer, referrers)) {
      const objectRead = req.object !== undefined && !req.isListing;
      if (objectRead || groups.includes(LISTINGS_DIRECTIVE)) return { allowed: true, owner: false };
    }
    if (identity && grants(groups, who)) return { allowed: true, owner: false };
  }

  if (identity) {
    const accountAcl = parseAccountAcl(req.accountAcl);
    if (accountAcl) {
      if (grants(accountAcl.admin, who)) return { allowed: true, owner: true };
      // read-write covers containers and objects, but only reads of the account itself.
      if (grants(accountAcl.readWrite, who) && (req.container !== undefined || READ_METHODS.has(method))) {
        return { allowed: true, owner: false };
      }
      if (grants(accountAcl.readOnly, who) && READ_METHODS.has(method)) return { allowed: true, owner: false };
    }
  }

  return deny;
}

/**
 * Which container ACL governs a request, as Swift's proxy sets `req.acl`: the read ACL
 * for container and object GET/HEAD, the write ACL for object changes, none for account
 * requests and container PUT/POST/DELETE (those stay with owners).
 */
function applicableAcl(req: AuthorizeRequest, method: string): { kind: 'read' | 'write'; value: string | undefined } | undefined {
  if (req.container === undefined) return undefined;
  if (READ_METHODS.has(method)) return { kind: 'read', value: req.readAcl };
  if (req.object !== undefined && OBJECT_WRITE_METHODS.has(method)) return { kind: 'write', value: req.writeAcl };
  return undefined;
}

/**
 * Whether any ACL entry names one of these identities (the user and, if any, the
 * service token's user). Besides tempauth's exact names (account, "account:user",
 * groups, "AUTH_account" for admins) the keystoneauth wildcards "account:*", "*:user"
 * and "*:*" are honoured; a bare "*" is not a wildcard in Swift.
 */
function grants(entries: readonly string[], identities: readonly Identity[]): boolean {
  if (entries.length === 0 || identities.length === 0) return false;
  const names = new Set<string>(['*:*']);
  for (const identity of identities) {
    for (const name of aclNamesOf(identity)) names.add(name);
    names.add(`${identity.account}:*`);
    names.add(`*:${identity.user}`);
  }
  return entries.some((entry) => names.has(entry));
}
