import { describe, expect, it } from 'vitest';
import { authorize } from './authorize.ts';
import type { AuthorizeRequest, AuthorizeResult } from './authorize.ts';
import { makeIdentity } from './identity.ts';
import type { Identity } from './identity.ts';

const who = (account: string, user: string, groups: string[] = []): Identity => makeIdentity({ account, user, groups });

const reseller = who('admin', 'admin', ['.admin', '.reseller_admin']);
const reader = who('ops', 'watcher', ['.reseller_reader']);
const admin = who('test', 'tester', ['.admin']);
const member = who('test', 'tester2');
const outsider = who('other', 'bob', ['staff']);

const OWNER: AuthorizeResult = { allowed: true, owner: true };
const ALLOW: AuthorizeResult = { allowed: true, owner: false };
const DENY_401: AuthorizeResult = { allowed: false, reason: 'unauthenticated' };
const DENY_403: AuthorizeResult = { allowed: false, reason: 'forbidden' };

type Row = [string, Partial<AuthorizeRequest> & { method: string }, AuthorizeResult];

function run(rows: Row[]): void {
  it.each(rows)('%s', (_name, partial, expected) => {
    const req: AuthorizeRequest = { account: 'AUTH_test', isListing: false, ...partial };
    expect(authorize(req)).toEqual(expected);
  });
}

const obj = { container: 'c', object: 'o' };
const listing = { container: 'c', isListing: true };

describe('reseller admin', () => {
  run([
    ['PUT account', { identity: reseller, method: 'PUT' }, OWNER],
    ['DELETE account', { identity: reseller, method: 'DELETE' }, OWNER],
    ['GET any account', { identity: reseller, method: 'GET', account: 'AUTH_other' }, OWNER],
    ['sets the account quota', { identity: reseller, method: 'POST', setsAccountQuota: true }, OWNER],
    ['DELETE object elsewhere', { identity: reseller, method: 'DELETE', account: 'AUTH_other', ...obj }, OWNER],
    ['not outside the AUTH_ prefix', { identity: reseller, method: 'GET', account: 'OTHER_test' }, DENY_403],
    ['not the bare prefix', { identity: reseller, method: 'GET', account: 'AUTH_' }, DENY_403],
    ['not dot accounts', { identity: reseller, method: 'GET', account: 'AUTH_.internal' }, DENY_403],
  ]);
});

describe('reseller reader', () => {
  run([
    ['GET any account', { identity: reader, method: 'GET', account: 'AUTH_other' }, ALLOW],
    ['HEAD object', { identity: reader, method: 'HEAD', ...obj }, ALLOW],
    ['no PUT', { identity: reader, method: 'PUT', ...obj }, DENY_403],
  ]);
});

describe('account admin (.admin, same account)', () => {
  run([
    ['GET account', { identity: admin, method: 'GET' }, OWNER],
    ['HEAD account', { identity: admin, method: 'HEAD' }, OWNER],
    ['POST account metadata', { identity: admin, method: 'POST' }, OWNER],
    ['no PUT of the account itself', { identity: admin, method: 'PUT' }, DENY_403],
    ['no DELETE of the account itself', { identity: admin, method: 'DELETE' }, DENY_403],
    ['no account quota', { identity: admin, method: 'POST', setsAccountQuota: true }, DENY_403],
    ['PUT container', { identity: admin, method: 'PUT', container: 'c' }, OWNER],
    ['POST container', { identity: admin, method: 'POST', container: 'c' }, OWNER],
    ['DELETE container', { identity: admin, method: 'DELETE', container: 'c' }, OWNER],
    ['PUT object', { identity: admin, method: 'PUT', ...obj }, OWNER],
    ['lower-case method', { identity: admin, method: 'delete', ...obj }, OWNER],
    ['nothing in another account', { identity: admin, method: 'GET', account: 'AUTH_other' }, DENY_403],
    ['other account objects only via ACL', { identity: admin, method: 'GET', account: 'AUTH_other', ...obj, readAcl: 'test' }, ALLOW],
  ]);
});

describe('non-admin user of the same account', () => {
  run([
    ['no account GET', { identity: member, method: 'GET' }, DENY_403],
    ['no container PUT', { identity: member, method: 'PUT', container: 'c' }, DENY_403],
    ['no object GET without ACL', { identity: member, method: 'GET', ...obj }, DENY_403],
    ['GET via account-wide read grant', { identity: member, method: 'GET', ...obj, readAcl: 'test' }, ALLOW],
    ['GET via account:user grant', { identity: member, method: 'GET', ...obj, readAcl: 'test:tester2' }, ALLOW],
    ['not via someone else’s grant', { identity: member, method: 'GET', ...obj, readAcl: 'test:tester' }, DENY_403],
    ['not via the admins-only grant', { identity: member, method: 'GET', ...obj, readAcl: 'AUTH_test' }, DENY_403],
    ['listing via read ACL', { identity: member, method: 'GET', ...listing, readAcl: 'test' }, ALLOW],
    ['PUT object via write ACL', { identity: member, method: 'PUT', ...obj, writeAcl: 'test:tester2' }, ALLOW],
    ['POST object via write ACL', { identity: member, method: 'POST', ...obj, writeAcl: 'test' }, ALLOW],
    ['DELETE object via write ACL', { identity: member, method: 'DELETE', ...obj, writeAcl: 'test' }, ALLOW],
    ['COPY object via write ACL', { identity: member, method: 'COPY', ...obj, writeAcl: 'test' }, ALLOW],
    ['read ACL does not allow writes', { identity: member, method: 'PUT', ...obj, readAcl: 'test' }, DENY_403],
    ['write ACL does not allow reads', { identity: member, method: 'GET', ...obj, writeAcl: 'test' }, DENY_403],
    ['write ACL does not allow container POST', { identity: member, method: 'POST', container: 'c', writeAcl: 'test' }, DENY_403],
    ['write ACL does not allow container DELETE', { identity: member, method: 'DELETE', container: 'c', writeAcl: 'test' }, DENY_403],
    ['read ACL does not allow account GET', { identity: member, method: 'GET', readAcl: 'test' }, DENY_403],
  ]);
});

describe('user of another account', () => {
  run([
    ['nothing without ACL', { identity: outsider, method: 'GET', ...obj }, DENY_403],
    ['account grant', { identity: outsider, method: 'GET', ...obj, readAcl: 'other' }, ALLOW],
    ['account:user grant', { identity: outsider, method: 'GET', ...obj, readAcl: 'x, other:bob' }, ALLOW],
    ['free-form group grant', { identity: outsider, method: 'GET', ...obj, readAcl: 'staff' }, ALLOW],
    ['*:user grant', { identity: outsider, method: 'GET', ...obj, readAcl: '*:bob' }, ALLOW],
    ['account:* grant', { identity: outsider, method: 'GET', ...obj, readAcl: 'other:*' }, ALLOW],
    ['*:* grant', { identity: outsider, method: 'PUT', ...obj, writeAcl: '*:*' }, ALLOW],
    ['bare * is not a wildcard (as in Swift)', { identity: outsider, method: 'GET', ...obj, readAcl: '*' }, DENY_403],
    ['URL-encoded grant', { identity: who('my acct', 'b'), method: 'GET', ...obj, readAcl: 'my%20acct:b' }, ALLOW],
    ['grant for another user', { identity: outsider, method: 'GET', ...obj, readAcl: 'other:alice,*:alice' }, DENY_403],
    ['no account GET even with grants', { identity: outsider, method: 'GET', readAcl: 'other' }, DENY_403],
    ['no container PUT', { identity: outsider, method: 'PUT', container: 'c', writeAcl: 'other' }, DENY_403],
    ['invalid entries skipped, valid ones still count', { identity: outsider, method: 'GET', ...obj, readAcl: '.x:y, other' }, ALLOW],
  ]);
});

describe('anonymous', () => {
  run([
    ['nothing without ACL', { method: 'GET', ...obj }, DENY_401],
    ['no account GET', { method: 'GET' }, DENY_401],
    ['object GET with .r:*', { method: 'GET', ...obj, readAcl: '.r:*' }, ALLOW],
    ['object HEAD with .r:*', { method: 'HEAD', ...obj, readAcl: '.r:*' }, ALLOW],
    ['.r:* without a Referer', { method: 'GET', ...obj, readAcl: '.r:*', referrer: undefined }, ALLOW],
    ['no listing with .r:* alone', { method: 'GET', ...listing, readAcl: '.r:*' }, DENY_401],
    ['no container HEAD with .r:* alone', { method: 'HEAD', container: 'c', readAcl: '.r:*' }, DENY_401],
    ['listing with .r:*,.rlistings', { method: 'GET', ...listing, readAcl: '.r:*,.rlistings' }, ALLOW],
    ['.rlistings without referrer access', { method: 'GET', ...listing, readAcl: '.rlistings' }, DENY_401],
    ['no object PUT with .r:*', { method: 'PUT', ...obj, readAcl: '.r:*' }, DENY_401],
    ['referrers in a write ACL are ignored', { method: 'PUT', ...obj, writeAcl: '.r:*' }, DENY_401],
    ['matching host', { method: 'GET', ...obj, readAcl: '.r:.example.com', referrer: 'https://www.example.com/page' }, ALLOW],
    ['non-matching host', { method: 'GET', ...obj, readAcl: '.r:.example.com', referrer: 'https://evil.org/' }, DENY_401],
    ['host rule without a Referer', { method: 'GET', ...obj, readAcl: '.r:.example.com' }, DENY_401],
    ['negated host', { method: 'GET', ...obj, readAcl: '.r:*,.r:-.thief.com', referrer: 'http://www.thief.com/' }, DENY_401],
    ['negation spares others', { method: 'GET', ...obj, readAcl: '.r:*,.r:-.thief.com', referrer: 'http://good.com/' }, ALLOW],
    ['uncleaned stored ACL', { method: 'GET', ...obj, readAcl: ' .referrer : *.example.com ', referrer: 'http://a.example.com/' }, ALLOW],
    ['account grants mean nothing', { method: 'GET', ...obj, readAcl: 'test,*:*' }, DENY_401],
    ['OPTIONS passes (CORS preflight)', { method: 'OPTIONS', ...obj }, ALLOW],
    ['outside the AUTH_ prefix', { method: 'GET', account: 'foo', ...obj, readAcl: '.r:*' }, DENY_401],
  ]);
});

describe('referrer rules apply to authenticated users too', () => {
  run([
    ['outsider reads a public object', { identity: outsider, method: 'GET', ...obj, readAcl: '.r:*' }, ALLOW],
    ['outsider cannot list without .rlistings', { identity: outsider, method: 'GET', ...listing, readAcl: '.r:*' }, DENY_403],
  ]);
});

describe('EXTRA: account ACLs (X-Account-Access-Control)', () => {
  const accountAcl = JSON.stringify({ admin: ['other:bob'], 'read-write': ['rw'], 'read-only': ['*:ro'] });
  const rw = who('x', 'y', ['rw']);
  const ro = who('z', 'ro');
  run([
    ['admin grantee owns the account', { identity: outsider, method: 'POST', accountAcl }, OWNER],
    ['admin grantee still cannot set quota', { identity: outsider, method: 'POST', accountAcl, setsAccountQuota: true }, DENY_403],
    ['read-write: account GET', { identity: rw, method: 'GET', accountAcl }, ALLOW],
    ['read-write: no account POST', { identity: rw, method: 'POST', accountAcl }, DENY_403],
    ['read-write: container PUT', { identity: rw, method: 'PUT', container: 'c', accountAcl }, ALLOW],
    ['read-write: object DELETE', { identity: rw, method: 'DELETE', ...obj, accountAcl }, ALLOW],
    ['read-only: listing', { identity: ro, method: 'GET', ...listing, accountAcl }, ALLOW],
    ['read-only: no object PUT', { identity: ro, method: 'PUT', ...obj, accountAcl }, DENY_403],
    ['anonymous gains nothing', { method: 'GET', accountAcl: JSON.stringify({ 'read-only': ['*:*'] }) }, DENY_401],
    ['unreadable ACL is ignored', { identity: outsider, method: 'GET', accountAcl: '{nope' }, DENY_403],
  ]);
});

describe('SERVICE_ accounts (reseller_prefix = AUTH, SERVICE; SERVICE_require_group = service)', () => {
  const service = who('test5', 'tester5', ['service']);
  const serviceAdmin = who('test5', 'tester5', ['.admin', 'service']);
  const svc = { account: 'SERVICE_test' };
  run([
    ['admin alone is refused', { identity: admin, method: 'GET', ...svc }, DENY_403],
    ['admin alone cannot write objects', { identity: admin, method: 'PUT', ...svc, ...obj }, DENY_403],
    ['anonymous is 401', { method: 'GET', ...svc }, DENY_401],
    ['admin + service token owns the account', { identity: admin, serviceIdentity: service, method: 'GET', ...svc }, OWNER],
    ['admin + service token writes objects', { identity: admin, serviceIdentity: service, method: 'PUT', ...svc, ...obj }, OWNER],
    ['admin + service token still cannot PUT the account', { identity: admin, serviceIdentity: service, method: 'PUT', ...svc }, DENY_403],
    ['admin + service token cannot DELETE the account', { identity: admin, serviceIdentity: service, method: 'DELETE', ...svc }, DENY_403],
    ['service user alone is refused', { identity: service, method: 'GET', ...svc }, DENY_403],
    ['service user as both tokens is refused', { identity: service, serviceIdentity: service, method: 'GET', ...svc }, DENY_403],
    ['admin of another account + service token is refused', { identity: admin, serviceIdentity: service, method: 'GET', account: 'SERVICE_other' }, DENY_403],
    ['service token without the service group does not help', { identity: admin, serviceIdentity: member, method: 'GET', ...svc }, DENY_403],
    ['service token alone (no user token) is 401', { serviceIdentity: service, method: 'GET', ...svc }, DENY_401],
    ['the service user\'s own SERVICE_ account', { identity: serviceAdmin, method: 'HEAD', account: 'SERVICE_test5' }, OWNER],
    ['reseller admin needs no service token', { identity: reseller, method: 'GET', ...svc }, OWNER],
    ['not the bare SERVICE_ prefix', { identity: reseller, method: 'GET', account: 'SERVICE_' }, DENY_403],
    ['ACL "SERVICE_test" names the admins of test', { identity: admin, method: 'GET', ...obj, readAcl: 'SERVICE_test', account: 'AUTH_x' }, ALLOW],
    ['AUTH_ account: admin alone still owns it', { identity: admin, method: 'GET' }, OWNER],
    ['AUTH_ account: a service token changes nothing for its admin', { identity: admin, serviceIdentity: service, method: 'PUT', ...obj }, OWNER],
    ['AUTH_ account: a service token does not make an outsider an owner', { identity: outsider, serviceIdentity: service, method: 'GET' }, DENY_403],
  ]);
});
