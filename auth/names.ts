/**
 * What account, user and group names may look like. They end up in storage account
 * names (`AUTH_<account>`), in "account:user" ACL entries and in comma-separated ACL
 * lists, so the separators those use are refused here.
 */
import { errors } from '../src/core/errors.ts';
import { RESELLER_PREFIX, RESERVED_GROUPS } from './identity.ts';

export const MAX_NAME_LENGTH = 256;
export const MAX_KEY_LENGTH = 1024;

// C0 controls, DEL and C1 controls: not printable, and unsafe in headers and logs.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function checkCommon(kind: string, name: string): void {
  if (name.length === 0) throw errors.invalidName(`${kind} name must not be empty`);
  if (name.length > MAX_NAME_LENGTH) throw errors.nameTooLong(`${kind} name is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL_CHARS.test(name)) throw errors.invalidName(`${kind} name must be printable`);
  // ACL entries are trimmed, so edge whitespace could never be granted anything.
  if (name.trim() !== name) throw errors.invalidName(`${kind} name must not start or end with whitespace`);
  // ',' separates ACL entries; '*' is the wildcard of "*:user" / "account:*".
  if (name.includes(',')) throw errors.invalidName(`${kind} name must not contain ','`);
  if (name === '*') throw errors.invalidName(`${kind} name must not be '*'`);
}

/** A bare account name ("test", not "AUTH_test"). */
export function validateAccountName(account: string): void {
  checkCommon('account', account);
  if (account.includes(':') || account.includes('/')) throw errors.invalidName("account name must not contain ':' or '/'");
  // Swift reserves dot accounts (AUTH_.x) for internal use; even reseller admins stay out.
  if (account.startsWith('.')) throw errors.invalidName("account name must not start with '.'");
}

export function validateUserName(user: string): void {
  checkCommon('user', user);
  if (user.includes(':') || user.includes('/')) throw errors.invalidName("user name must not contain ':' or '/'");
}

/** Free-form groups, plus the reserved dot groups tempauth knows. */
export function validateGroupName(group: string): void {
  checkCommon('group', group);
  if (group.startsWith('.') && !RESERVED_GROUPS.includes(group)) {
    throw errors.invalidName(`group ${JSON.stringify(group)} is reserved (names starting with '.' have meaning in ACLs)`);
  }
  // ACL entry "AUTH_x" names the admins of account x; a plain group must not pose as one.
  if (group.startsWith(RESELLER_PREFIX)) throw errors.invalidName(`group names must not start with ${RESELLER_PREFIX}`);
}

export function validateKey(key: string): void {
  if (key.length === 0) throw errors.invalidArgument('key must not be empty');
  if (key.length > MAX_KEY_LENGTH) throw errors.invalidArgument(`key is longer than ${MAX_KEY_LENGTH} characters`);
}
