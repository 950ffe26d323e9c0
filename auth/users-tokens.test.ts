import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, isSwiftgateError } from '../src/core/errors.ts';
import type { DomainRecord, IdentityStore, TokenRecord, UserRecord } from '../src/metadata/store.ts';
import { hashToken } from './keys.ts';
import { TokenService } from './tokens.ts';
import { UserDirectory } from './users.ts';

/** Just enough IdentityStore to test the logic above it; the real stores are tested elsewhere. */
class MemoryIdentityStore implements IdentityStore {
  users = new Map<string, UserRecord>();
  tokens = new Map<string, TokenRecord>();
  tokenReads = 0;

  async getUser(account: string, user: string) {
    const record = this.users.get(`${account}:${user}`);
    return record && structuredClone(record);
  }
  async putUser(record: UserRecord) {
    this.users.set(`${record.account}:${record.user}`, structuredClone(record));
  }
  async deleteUser(account: string, user: string) {
    return this.users.delete(`${account}:${user}`);
  }
  async listUsers() {
    return [...this.users.values()].map((r) => structuredClone(r));
  }
  async putToken(record: TokenRecord) {
    this.tokens.set(record.tokenHash, structuredClone(record));
  }
  async getToken(tokenHash: string) {
    this.tokenReads++;
    const record = this.tokens.get(tokenHash);
    return record && structuredClone(record);
  }
  async deleteToken(tokenHash: string) {
    this.tokens.delete(tokenHash);
  }
  async deleteUserTokens(account: string, user: string) {
    let n = 0;
    for (const [hash, t] of this.tokens) if (t.account === account && t.user === user && this.tokens.delete(hash)) n++;
    return n;
  }
  async purgeExpiredTokens(nowMs: number) {
    let n = 0;
    for (const [hash, t] of this.tokens) if (t.expiresAt <= nowMs && this.tokens.delete(hash)) n++;
    return n;
  }
  async claimDomain(_record: DomainRecord): Promise<void> {
    throw new Error('not used');
  }
  async getDomain(_domain: string): Promise<DomainRecord | undefined> {
    return undefined;
  }
  async listDomains(): Promise<DomainRecord[]> {
    return [];
  }
  async removeDomain(_domain: string): Promise<boolean> {
    return false;
  }
}

const FAST = { N: 1 << 10, r: 8, p: 1 };

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isSwiftgateError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a SwiftgateError');
}

let store: MemoryIdentityStore;
let clock: number;
let tokens: TokenService;
let users: UserDirectory;

beforeEach(() => {
  store = new MemoryIdentityStore();
  clock = 1_700_000_000_000;
  tokens = new TokenService(store, { ttlSeconds: 60, now: () => clock });
  users = new UserDirectory(store, {
    scrypt: FAST,
    onTokensRevoked: (account, user) => tokens.forgetUser(account, user),
    now: () => new Date(clock),
  });
});

describe('UserDirectory', () => {
  it('adds a user and verifies its key', async () => {
    const view = await users.addUser({ account: 'test', user: 'tester', key: 'testing', admin: true, groups: ['staff'] });
    expect(view).toEqual({
      account: 'test',
      user: 'tester',
      storageAccount: 'AUTH_test',
      groups: ['staff', '.admin'],
      isAdmin: true,
      isResellerAdmin: false,
      createdAt: new Date(clock).toISOString(),
    });
    expect((await users.verify('test', 'tester', 'testing'))?.user).toBe('tester');
    expect(await users.verify('test', 'tester', 'wrong')).toBeUndefined();
    expect(await users.verify('test', 'nobody', 'testing')).toBeUndefined();
    expect(await users.verify('other', 'tester', 'testing')).toBeUndefined();
    expect(store.users.get('test:tester')?.keyHash).toMatch(/^scrypt\$1024\$8\$1\$/);
  });

  it('marks reseller admins', async () => {
    const view = await users.addUser({ account: 'admin', user: 'admin', key: 'k', admin: true, resellerAdmin: true });
    expect(view.groups).toEqual(['.admin', '.reseller_admin']);
    expect(view.isResellerAdmin).toBe(true);
  });

  it('never shows key hashes', async () => {
    await users.addUser({ account: 'test', user: 'a', key: 'k' });
    const listed = await users.listUsers();
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|keyHash/);
    expect(JSON.stringify(await users.getUser('test', 'a'))).not.toMatch(/scrypt|keyHash/);
  });

  it('lists sorted, optionally by account', async () => {
    await users.addUser({ account: 'b', user: 'z', key: 'k' });
    await users.addUser({ account: 'a', user: 'y', key: 'k' });
    await users.addUser({ account: 'b', user: 'x', key: 'k' });
    expect((await users.listUsers()).map((u) => `${u.account}:${u.user}`)).toEqual(['a:y', 'b:x', 'b:z']);
    expect((await users.listUsers('b')).map((u) => u.user)).toEqual(['x', 'z']);
  });

  it.each([
    ['', 'u', ErrorCodes.INVALID_NAME],
    ['a:b', 'u', ErrorCodes.INVALID_NAME],
    ['a/b', 'u', ErrorCodes.INVALID_NAME],
    ['a,b', 'u', ErrorCodes.INVALID_NAME],
    ['.hidden', 'u', ErrorCodes.INVALID_NAME],
    ['tab\there', 'u', ErrorCodes.INVALID_NAME],
    [' padded', 'u', ErrorCodes.INVALID_NAME],
    ['*', 'u', ErrorCodes.INVALID_NAME],
    ['x'.repeat(257), 'u', ErrorCodes.NAME_TOO_LONG],
    ['acct', '', ErrorCodes.INVALID_NAME],
    ['acct', 'a:b', ErrorCodes.INVALID_NAME],
    ['acct', 'a/b', ErrorCodes.INVALID_NAME],
    ['acct', 'nl\n', ErrorCodes.INVALID_NAME],
    ['acct', 'x'.repeat(257), ErrorCodes.NAME_TOO_LONG],
  ])('refuses account %j / user %j', async (account, user, expected) => {
    expect(await code(users.addUser({ account, user, key: 'k' }))).toBe(expected);
    expect(store.users.size).toBe(0);
  });

  it('accepts names at the length limit and non-ASCII printable names', async () => {
    await users.addUser({ account: 'x'.repeat(256), user: 'ünïcødé user', key: 'k' });
    expect(store.users.size).toBe(1);
  });

  it.each([['.admin2'], ['AUTH_other'], ['a,b'], ['']])('refuses group %j', async (group) => {
    expect(await code(users.addUser({ account: 'a', user: 'u', key: 'k', groups: [group] }))).toBe(ErrorCodes.INVALID_NAME);
  });

  it('refuses an empty key and duplicate users unless replacing', async () => {
    expect(await code(users.addUser({ account: 'a', user: 'u', key: '' }))).toBe(ErrorCodes.INVALID_ARGUMENT);
    await users.addUser({ account: 'a', user: 'u', key: 'one' });
    expect(await code(users.addUser({ account: 'a', user: 'u', key: 'two' }))).toBe(ErrorCodes.ALREADY_EXISTS);
    expect(await users.verify('a', 'u', 'one')).toBeDefined();
  });

  it('replacing a user keeps createdAt, changes the key and revokes its tokens', async () => {
    const created = await users.addUser({ account: 'a', user: 'u', key: 'one' });
    const issued = await tokens.issue((await users.verify('a', 'u', 'one'))!);
    clock += 1000;
    const replaced = await users.addUser({ account: 'a', user: 'u', key: 'two', admin: true, replace: true });
    expect(replaced.createdAt).toBe(created.createdAt);
    expect(replaced.isAdmin).toBe(true);
    expect(await users.verify('a', 'u', 'one')).toBeUndefined();
    expect(await tokens.validate(issued.token)).toBeUndefined();
  });

  it('setKey changes the key and revokes only that user’s tokens (cache included)', async () => {
    await users.addUser({ account: 'a', user: 'u', key: 'one' });
    await users.addUser({ account: 'a', user: 'v', key: 'vee' });
    const mine = await tokens.issue((await users.verify('a', 'u', 'one'))!);
    const theirs = await tokens.issue((await users.verify('a', 'v', 'vee'))!);
    expect(await tokens.validate(mine.token)).toBeDefined(); // now cached
    await users.setKey('a', 'u', 'two');
    expect(await users.verify('a', 'u', 'two')).toBeDefined();
    expect(await users.verify('a', 'u', 'one')).toBeUndefined();
    expect(await tokens.validate(mine.token)).toBeUndefined();
    expect(await tokens.validate(theirs.token)).toBeDefined();
    expect(await code(users.setKey('a', 'ghost', 'k'))).toBe(ErrorCodes.NOT_FOUND);
  });

  it('removeUser deletes the user and its tokens', async () => {
    await users.addUser({ account: 'a', user: 'u', key: 'k' });
    const issued = await tokens.issue((await users.verify('a', 'u', 'k'))!);
    expect(await tokens.validate(issued.token)).toBeDefined();
    expect(await users.removeUser('a', 'u')).toBe(true);
    expect(await users.getUser('a', 'u')).toBeUndefined();
    expect(store.tokens.size).toBe(0);
    expect(await tokens.validate(issued.token)).toBeUndefined();
    expect(await users.removeUser('a', 'u')).toBe(false);
  });
});

describe('TokenService', () => {
  const tester: UserRecord = { account: 'test', user: 'tester', keyHash: 'x', groups: ['.admin'], createdAt: '' };

  it('issues AUTH_tk tokens stored only as hashes, with the TTL', async () => {
    const issued = await tokens.issue(tester);
    expect(issued.token).toMatch(/^AUTH_tk[0-9a-f]{32}$/);
    expect(issued.expiresAt).toBe(clock + 60_000);
    const [stored] = [...store.tokens.values()];
    expect(stored).toEqual({ tokenHash: hashToken(issued.token), account: 'test', user: 'tester', groups: ['.admin'], expiresAt: clock + 60_000 });
    expect(JSON.stringify([...store.tokens])).not.toContain(issued.token);
    expect((await tokens.issue(tester)).token).not.toBe(issued.token);
  });

  it('defaults to a one-day TTL', async () => {
    const daily = new TokenService(store, { now: () => clock });
    expect((await daily.issue(tester)).expiresAt).toBe(clock + 86_400_000);
  });

  it('validates to the identity', async () => {
    const { token } = await tokens.issue(tester);
    expect(await tokens.validate(token)).toEqual({
      account: 'test',
      user: 'tester',
      groups: ['.admin'],
      storageAccount: 'AUTH_test',
      isAdmin: true,
      isResellerAdmin: false,
    });
  });

  it('rejects unknown and malformed tokens without asking the store for junk', async () => {
    expect(await tokens.validate('AUTH_tk' + '0'.repeat(32))).toBeUndefined();
    const reads = store.tokenReads;
    for (const junk of ['', 'AUTH_tk', 'AUTH_tk' + 'g'.repeat(32), 'AUTH_TK' + '0'.repeat(32), 'x'.repeat(10_000)]) {
      expect(await tokens.validate(junk)).toBeUndefined();
    }
    expect(store.tokenReads).toBe(reads);
  });

  it('expires tokens and deletes them from the store on sight', async () => {
    const { token } = await tokens.issue(tester);
    clock += 59_999;
    expect(await tokens.validate(token)).toBeDefined();
    clock += 1;
    expect(await tokens.validate(token)).toBeUndefined();
    expect(store.tokens.size).toBe(0);
  });

  it('serves repeat validations from the cache', async () => {
    const fresh = new TokenService(store, { ttlSeconds: 60, now: () => clock });
    const { token } = await tokens.issue(tester); // issued by another instance: not in fresh's cache
    await fresh.validate(token);
    await fresh.validate(token);
    await fresh.validate(token);
    expect(store.tokenReads).toBe(1);
  });

  it('re-reads the store once the cache TTL passes, so revocations elsewhere take effect', async () => {
    const gateway = new TokenService(store, { ttlSeconds: 3600, cacheTtlMs: 5000, now: () => clock });
    const { token } = await gateway.issue(tester);
    expect(await gateway.validate(token)).toBeDefined();
    await store.deleteUserTokens('test', 'tester'); // e.g. another process removed the user
    expect(await gateway.validate(token)).toBeDefined(); // still cached
    clock += 5000;
    expect(await gateway.validate(token)).toBeUndefined();
  });

  it('forget, clear and revoke', async () => {
    const { token } = await tokens.issue(tester);
    await tokens.validate(token);
    tokens.forget(hashToken(token));
    await tokens.validate(token);
    expect(store.tokenReads).toBe(1);
    tokens.clear();
    await tokens.validate(token);
    expect(store.tokenReads).toBe(2);
    await tokens.revoke(token);
    expect(await tokens.validate(token)).toBeUndefined();
    expect(store.tokens.size).toBe(0);
  });

  it('keeps the cache bounded', async () => {
    const small = new TokenService(store, { ttlSeconds: 60, cacheSize: 2, now: () => clock });
    const a = await small.issue(tester);
    await small.issue(tester);
    await small.issue(tester);
    const before = store.tokenReads;
    expect(await small.validate(a.token)).toBeDefined(); // evicted, so read again
    expect(store.tokenReads).toBe(before + 1);
  });

  it('hands out copies: mutating an identity does not affect the next request', async () => {
    const { token } = await tokens.issue(tester);
    const first = await tokens.validate(token);
    first?.groups.push('.reseller_admin');
    expect((await tokens.validate(token))?.groups).toEqual(['.admin']);
  });

  it('purgeExpired clears expired tokens from store and cache', async () => {
    const old = await tokens.issue(tester);
    clock += 30_000;
    const young = await tokens.issue(tester);
    clock += 30_000;
    expect(await tokens.purgeExpired()).toBe(1);
    expect(store.tokens.has(hashToken(old.token))).toBe(false);
    expect(await tokens.validate(young.token)).toBeDefined();
  });

  it('refuses a non-positive TTL', () => {
    expect(() => new TokenService(store, { ttlSeconds: 0 })).toThrow();
  });
});
