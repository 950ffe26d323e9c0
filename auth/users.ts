/**
 * The user directory: who may log in, with which key and groups. Keys are kept only as
 * scrypt hashes and never leave this module.
 */
import type { IdentityStore, UserRecord } from '../src/metadata/store.ts';
import { errors } from '../src/core/errors.ts';
import { ADMIN_GROUP, RESELLER_ADMIN_GROUP, storageAccountOf } from './identity.ts';
import { DEFAULT_SCRYPT_PARAMS, hashKey, verifyKey } from './keys.ts';
import type { ScryptParams } from './keys.ts';
import { validateAccountName, validateGroupName, validateKey, validateUserName } from './names.ts';

export interface NewUser {
  /** Bare account name; the storage account is `AUTH_<account>`. */
  account: string;
  user: string;
  key: string;
  admin?: boolean;
  resellerAdmin?: boolean;
  groups?: string[];
  /** Overwrite an existing user (its tokens are revoked); otherwise an existing user is ALREADY_EXISTS. */
  replace?: boolean;
}

/** A user as shown to callers: everything but the key hash. */
export interface UserView {
  account: string;
  user: string;
  storageAccount: string;
  groups: string[];
  isAdmin: boolean;
  isResellerAdmin: boolean;
  createdAt: string;
}

export interface UserDirectoryOptions {
  scrypt?: ScryptParams;
  /**
   * Called after a user's tokens were deleted from the store (key change, replacement,
   * removal), so in-process token caches can drop them: wire to TokenService.forgetUser.
   */
  onTokensRevoked?: (account: string, user: string) => void;
  /** Clock for createdAt, injectable for tests. */
  now?: () => Date;
}

export class UserDirectory {
  readonly #store: IdentityStore;
  readonly #scrypt: ScryptParams;
  readonly #onTokensRevoked: (account: string, user: string) => void;
  readonly #now: () => Date;
  #dummyHash: Promise<string> | undefined;

  constructor(store: IdentityStore, options: UserDirectoryOptions = {}) {
    this.#store = store;
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
    this.#onTokensRevoked = options.onTokensRevoked ?? (() => {});
    this.#now = options.now ?? (() => new Date());
  }

  async addUser(input: NewUser): Promise<UserView> {
    validateAccountName(input.account);
    validateUserName(input.user);
    validateKey(input.key);
    const groups = normalizeGroups(input);
    const existing = await this.#store.getUser(input.account, input.user);
    if (existing && !input.replace) throw errors.alreadyExists(`user ${input.account}:${input.user}`);
    const record: UserRecord = {
      account: input.account,
      user: input.user,
      keyHash: await hashKey(input.key, this.#scrypt),
      groups,
      createdAt: existing?.createdAt ?? this.#now().toISOString(),
    };
    await this.#store.putUser(record);
    // Tokens carry the groups they were issued with, so any replacement must revoke them.
    if (existing) await this.#revokeTokens(input.account, input.user);
    return toView(record);
  }

  /** Changes a user's key and logs out all its sessions. */
  async setKey(account: string, user: string, key: string): Promise<void> {
    validateKey(key);
    const existing = await this.#store.getUser(account, user);
    if (!existing) throw errors.notFound(`user ${account}:${user}`);
    await this.#store.putUser({ ...existing, keyHash: await hashKey(key, this.#scrypt) });
    await this.#revokeTokens(account, user);
  }

  /** Removes a user and its tokens; false if there was no such user. */
  async removeUser(account: string, user: string): Promise<boolean> {
    const removed = await this.#store.deleteUser(account, user);
    // Revoke even if the record was already gone: a half-finished earlier removal may have left tokens.
    await this.#revokeTokens(account, user);
    return removed;
  }

  async getUser(account: string, user: string): Promise<UserView | undefined> {
    const record = await this.#store.getUser(account, user);
    return record ? toView(record) : undefined;
  }

  /** All users, or those of one bare account, sorted by account then user. */
  async listUsers(account?: string): Promise<UserView[]> {
    const records = await this.#store.listUsers();
    return records
      .filter((record) => account === undefined || record.account === account)
      .map(toView)
      .sort((a, b) => compare(a.account, b.account) || compare(a.user, b.user));
  }

  /** The user if `key` is right, else undefined. Unknown users cost the same time as wrong keys. */
  async verify(account: string, user: string, key: string): Promise<UserRecord | undefined> {
    const record = await this.#store.getUser(account, user);
    if (!record) {
      // Burn a comparable scrypt so response time does not reveal which users exist.
      await verifyKey(key, await this.#dummy());
      return undefined;
    }
    return (await verifyKey(key, record.keyHash)) ? record : undefined;
  }

  async #revokeTokens(account: string, user: string): Promise<void> {
    await this.#store.deleteUserTokens(account, user);
    this.#onTokensRevoked(account, user);
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashKey('swiftgate-no-such-user', this.#scrypt);
    return this.#dummyHash;
  }
}

function normalizeGroups(input: NewUser): string[] {
  const groups: string[] = [];
  const add = (group: string): void => {
    if (!groups.includes(group)) groups.push(group);
  };
  for (const group of input.groups ?? []) {
    validateGroupName(group);
    add(group);
  }
  if (input.admin) add(ADMIN_GROUP);
  if (input.resellerAdmin) add(RESELLER_ADMIN_GROUP);
  return groups;
}

function toView(record: UserRecord): UserView {
  return {
    account: record.account,
    user: record.user,
    storageAccount: storageAccountOf(record.account),
    groups: [...record.groups],
    isAdmin: record.groups.includes(ADMIN_GROUP),
    isResellerAdmin: record.groups.includes(RESELLER_ADMIN_GROUP),
    createdAt: record.createdAt,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
