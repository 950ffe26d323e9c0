import { describe, expect, it } from 'vitest';
import { ErrorCodes, isSwiftgateError } from '../src/core/errors.ts';
import { cleanAcl, formatAcl, parseAcl, parseStoredAcl, referrerAllowed, referrerHost } from './acl.ts';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSwiftgateError(err, ErrorCodes.INVALID_ARGUMENT)) return err.message;
    throw err;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('cleanAcl (Swift clean_acl)', () => {
  it.each([
    // The table in Swift's clean_acl docstring.
    ['bob, sue', 'bob,sue'],
    ['bob , sue', 'bob,sue'],
    ['bob,,,sue', 'bob,sue'],
    ['.referrer : *', '.r:*'],
    ['.ref:*.example.com', '.r:.example.com'],
    ['.r:*, .rlistings', '.r:*,.rlistings'],
    // Its valid examples stay as they are.
    ['.r:*', '.r:*'],
    ['.r:*,.r:-.thief.com', '.r:*,.r:-.thief.com'],
    ['.r:*,.r:.example.com,.r:-thief.example.com', '.r:*,.r:.example.com,.r:-thief.example.com'],
    ['.r:*,.r:-.thief.com,bobs_account,sues_account:sue', '.r:*,.r:-.thief.com,bobs_account,sues_account:sue'],
    ['bobs_account,sues_account:sue', 'bobs_account,sues_account:sue'],
    // Further normalization.
    ['.referer:foo.com', '.r:foo.com'],
    [' .r : - bad.com ', '.r:-bad.com'],
    ['.r:-*.thief.com', '.r:-.thief.com'],
    ['.r:**', '.r:*'],
    ['', ''],
    [' , ,', ''],
    // Grants with a colon are passed through untouched (inner spaces included), like Swift.
    ['bob : sue', 'bob : sue'],
    [':foo', ':foo'],
    ['*:sue,acct:*', '*:sue,acct:*'],
    // A dot word without a colon is a plain entry to Swift.
    ['.x', '.x'],
  ])('read ACL %j → %j', (input, output) => {
    expect(cleanAcl(input, 'read')).toBe(output);
  });

  it.each([
    ['.r:', "No host/domain value after referrer designation in ACL: '.r:'"],
    ['.r:-', "No host/domain value after referrer designation in ACL: '.r:-'"],
    ['.r:.', "No host/domain value after referrer designation in ACL: '.r:.'"],
    ['.r:*.', "No host/domain value after referrer designation in ACL: '.r:*.'"],
    ['bob,.ref: ', "No host/domain value after referrer designation in ACL: '.ref:'"],
    ['.x:y', "Unknown designator '.x' in ACL: '.x:y'"],
    ['.R:foo', "Unknown designator '.R' in ACL: '.R:foo'"],
    [".foo:'\"", `Unknown designator '.foo' in ACL: '.foo:\\'"'`],
  ])('rejects %j with Swift’s message', (input, message) => {
    expect(invalid(() => cleanAcl(input, 'read'))).toBe(message);
  });

  it('refuses referrer rules in write ACLs', () => {
    expect(invalid(() => cleanAcl('bob,.r:*', 'write'))).toBe("Referrers not allowed in write ACL: '.r:*'");
    expect(invalid(() => cleanAcl(".r:it's", 'write'))).toBe(`Referrers not allowed in write ACL: ".r:it's"`);
    expect(cleanAcl('bob, acct:sue, .rlistings', 'write')).toBe('bob,acct:sue,.rlistings');
  });
});

describe('parseAcl (clean + Swift parse_acl)', () => {
  it('splits referrers and grantees, keeping order and .rlistings', () => {
    expect(parseAcl('.r:*, .r:-.thief.com, .rlistings, bob, sue:sue')).toEqual({
      referrers: ['*', '-.thief.com'],
      groups: ['.rlistings', 'bob', 'sue:sue'],
    });
  });

  it('URL-decodes grantees like Swift, leaving malformed escapes alone', () => {
    expect(parseAcl('my%20acct:b%C3%B6b,100%zz').groups).toEqual(['my acct:böb', '100%zz']);
  });

  it('is empty for an empty ACL', () => {
    expect(parseAcl('')).toEqual({ referrers: [], groups: [] });
  });

  it('throws for invalid entries', () => {
    expect(invalid(() => parseAcl('.r:'))).toMatch(/No host\/domain value/);
    expect(invalid(() => parseAcl('.r:*', 'write'))).toMatch(/Referrers not allowed/);
  });
});

describe('parseStoredAcl', () => {
  it('skips invalid entries instead of throwing, and tolerates uncleaned input', () => {
    expect(parseStoredAcl(' .r:*, .r:, .x:y, bob ')).toEqual({ referrers: ['*'], groups: ['bob'] });
    expect(parseStoredAcl(undefined)).toEqual({ referrers: [], groups: [] });
  });
});

describe('formatAcl (Swift format_acl v1)', () => {
  it('joins grantees then referrers', () => {
    expect(formatAcl({ groups: ['bob', 'sue'], referrers: ['*', '-bad.com'] })).toBe('bob,sue,.r:*,.r:-bad.com');
    expect(formatAcl({})).toBe('');
  });

  it('cleans when given a kind', () => {
    expect(formatAcl({ groups: [' bob '], referrers: ['*.example.com'] }, 'read')).toBe('bob,.r:.example.com');
    expect(invalid(() => formatAcl({ referrers: ['*'] }, 'write'))).toMatch(/Referrers not allowed/);
  });
});

describe('referrerHost (urlparse(...).hostname)', () => {
  it.each([
    ['http://www.example.com/x', 'www.example.com'],
    ['https://User:pw@Thief.Example.com:8080/p', 'thief.example.com'],
    ['//example.com/a', 'example.com'],
    ['http://[::1]:80/', '::1'],
    ['http://sub.example.com?q', 'sub.example.com'],
    ['example.com/page', undefined],
    ['http://', undefined],
    ['foo:bar', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (referrer, host) => {
    expect(referrerHost(referrer)).toBe(host);
  });
});

describe('referrerAllowed (Swift referrer_allowed)', () => {
  const cases: Array<[string | undefined, string[], boolean]> = [
    ['http://example.com/', [], false],
    [undefined, [], false],
    // '*' matches everything, even a missing Referer.
    [undefined, ['*'], true],
    ['', ['*'], true],
    ['http://anything.org/', ['*'], true],
    // Exact host, and '.domain' for subdomains (not the bare domain).
    ['http://example.com/x', ['example.com'], true],
    ['http://www.example.com/x', ['example.com'], false],
    ['http://www.example.com/x', ['.example.com'], true],
    ['http://example.com/x', ['.example.com'], false],
    ['http://notexample.com/', ['.example.com'], false],
    // Last matching rule wins.
    ['http://thief.example.com/', ['.example.com', '-thief.example.com'], false],
    ['http://good.example.com/', ['.example.com', '-thief.example.com'], true],
    ['http://thief.example.com/', ['-thief.example.com', '.example.com'], true],
    ['http://www.thief.com/', ['*', '-.thief.com'], false],
    ['http://www.good.com/', ['*', '-.thief.com'], true],
    // '-*' is not a wildcard denial in Swift: it matches nothing.
    ['http://a.com/', ['*', '-*'], true],
    ['http://a.com/', ['-*'], false],
    // No usable host is 'unknown' to Swift.
    [undefined, ['unknown'], true],
    ['example.com/page', ['example.com'], false],
    [undefined, ['*', '-unknown'], false],
    // Ports and credentials do not matter; hosts compare case-insensitively.
    ['https://u:p@Example.COM:8443/x', ['example.com'], true],
    ['http://example.com/', ['Example.COM'], true],
  ];
  it.each(cases)('%j with %j → %j', (referrer, rules, allowed) => {
    expect(referrerAllowed(referrer, rules)).toBe(allowed);
  });
});
