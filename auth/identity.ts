/**
 * Who a request is. Built from a user record at login or from a token record on every
 * authenticated request; carries exactly what authorization needs.
 */
import type { TokenRecord, UserRecord } from '../src/metadata/store.ts';

/** Swift's reseller prefix: the storage account of bare account `x` is `AUTH_x`. */
export const RESELLER_PREFIX = 'AUTH_';
/**
 * tempauth's second reseller prefix (`reseller_prefix = AUTH, SERVICE`): `SERVICE_x` is
 * account x's service account, which its admins reach only together with an
 * X-Service-Token of a user in SERVICE_GROUP (`SERVICE_require_group = service`).
 */
export const SERVICE_PREFIX = 'SERVICE_';
/** The group an X-Service-Token's user must be in for `SERVICE_` accounts. */
export const SERVICE_GROUP = 'service';
/** Every prefix tempauth is the definitive auth for, as `_non_empty_reseller_prefixes`. */
export const RESELLER_PREFIXES: readonly string[] = [RESELLER_PREFIX, SERVICE_PREFIX];
/** tempauth's `<PREFIX>_require_group` per prefix; AUTH_ requires none. */
const REQUIRED_GROUP: Readonly<Record<string, string>> = { [SERVICE_PREFIX]: SERVICE_GROUP };
/** Full control of the user's own account (tempauth `.admin`). */
export const ADMIN_GROUP = '.admin';
/** Full control of every `AUTH_` account (tempauth `.reseller_admin`). */
export const RESELLER_ADMIN_GROUP = '.reseller_admin';
/** Read-only access (GET/HEAD) to every `AUTH_` account (tempauth `.reseller_reader`). */
export const RESELLER_READER_GROUP = '.reseller_reader';

/** The dot-prefixed groups tempauth gives meaning to; other dot names are refused. */
export const RESERVED_GROUPS: readonly string[] = [ADMIN_GROUP, RESELLER_ADMIN_GROUP, RESELLER_READER_GROUP];

export interface Identity {
  /** Bare account name, "test". */
  account: string;
  user: string;
  /** The user's groups as stored, reserved ones (".admin", …) included. */
  groups: string[];
  /** "AUTH_test". */
  storageAccount: string;
  isAdmin: boolean;
  isResellerAdmin: boolean;
}

export function storageAccountOf(account: string): string {
  return RESELLER_PREFIX + account;
}

/** tempauth's `_get_account_prefix`: "AUTH_" or "SERVICE_"; undefined outside the reseller prefixes. */
export function accountPrefixOf(storageAccount: string): string | undefined {
  return RESELLER_PREFIXES.find((prefix) => storageAccount.startsWith(prefix));
}

/** "AUTH_test" / "SERVICE_test" → "test"; undefined for names outside the reseller prefixes. */
export function bareAccountOf(storageAccount: string): string | undefined {
  const prefix = accountPrefixOf(storageAccount);
  if (prefix === undefined || storageAccount.length === prefix.length) return undefined;
  return storageAccount.slice(prefix.length);
}

/** The group a request to this account must also carry (tempauth `require_group`), if any. */
export function requiredGroupOf(storageAccount: string): string | undefined {
  const prefix = accountPrefixOf(storageAccount);
  return prefix === undefined ? undefined : REQUIRED_GROUP[prefix];
}

export function makeIdentity(source: Pick<UserRecord | TokenRecord, 'account' | 'user' | 'groups'>): Identity {
  return {
    account: source.account,
    user: source.user,
    groups: [...source.groups],
    storageAccount: storageAccountOf(source.account),
    isAdmin: source.groups.includes(ADMIN_GROUP),
    isResellerAdmin: source.groups.includes(RESELLER_ADMIN_GROUP),
  };
}

export function isResellerReader(identity: Identity): boolean {
  return identity.groups.includes(RESELLER_READER_GROUP);
}

/**
 * The names an ACL entry can grant this identity, as tempauth computes them: the bare
 * account, "account:user", the user's groups, and for admins the account under every
 * reseller prefix ("AUTH_test", "SERVICE_test") instead of ".admin".
 */
export function aclNamesOf(identity: Identity): string[] {
  const names = [identity.account, `${identity.account}:${identity.user}`];
  for (const group of identity.groups) if (group !== ADMIN_GROUP) names.push(group);
  if (identity.isAdmin) for (const prefix of RESELLER_PREFIXES) names.push(prefix + identity.account);
  return names;
}

/** "test:tester", the form Swift logs and clients show. */
export function displayName(identity: Pick<Identity, 'account' | 'user'>): string {
  return `${identity.account}:${identity.user}`;
}
