/**
 * Auth tokens: issued at login, checked on every request. The store keeps only their
 * SHA-256; a small in-process cache spares the store a read per request.
 */
import { randomBytes } from 'node:crypto';
import type { IdentityStore, UserRecord } from '../src/metadata/store.ts';
import { errors } from '../src/core/errors.ts';
import { makeIdentity } from './identity.ts';
import type { Identity } from './identity.ts';
import { hashToken } from './keys.ts';
import { LruCache } from './lru.ts';

/** Swift clients recognise tempauth tokens by this prefix. */
export const TOKEN_PREFIX = 'AUTH_tk';
const TOKEN_PATTERN = /^AUTH_tk[0-9a-f]{32}$/;

export interface TokenServiceOptions {
  /** Token lifetime; tempauth's default is one day. */
  ttlSeconds?: number;
  /** Validated tokens kept in memory. */
  cacheSize?: number;
  /**
   * How long a cached validation is trusted before the store is asked again. Bounds how
   * long a token revoked by another gateway process (shared store) keeps working here.
   */
  cacheTtlMs?: number;
  /** Clock in unix ms, injectable for tests. */
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  /** Unix ms. */
  expiresAt: number;
}

interface CachedToken {
  identity: Identity;
  expiresAt: number;
}

export class TokenService {
  readonly #store: IdentityStore;
  readonly #ttlMs: number;
  readonly #cacheTtlMs: number;
  readonly #now: () => number;
  readonly #cache: LruCache<string, CachedToken>;

  constructor(store: IdentityStore, options: TokenServiceOptions = {}) {
    const ttlSeconds = options.ttlSeconds ?? 86_400;
    if (!(ttlSeconds > 0)) throw errors.invalidArgument('token ttlSeconds must be positive');
    this.#store = store;
    this.#ttlMs = ttlSeconds * 1000;
    this.#cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#cache = new LruCache(options.cacheSize ?? 10_000);
  }

  /**
   * Issues a fresh token. tempauth hands back the still-valid token of a repeat login;
   * we keep only hashes, so every login gets a new one (older ones stay valid).
   */
  async issue(user: UserRecord): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + randomBytes(16).toString('hex');
    const tokenHash = hashToken(token);
    const expiresAt = this.#now() + this.#ttlMs;
    await this.#store.putToken({ tokenHash, account: user.account, user: user.user, groups: [...user.groups], expiresAt });
    this.#remember(tokenHash, makeIdentity(user), expiresAt);
    return { token, expiresAt };
  }

  /** The identity behind a token, or undefined if it is unknown, malformed or expired. */
  async validate(token: string): Promise<Identity | undefined> {
    // Reject junk before hashing or touching the store: every request may carry one.
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const tokenHash = hashToken(token);
    const now = this.#now();
    const cached = this.#cache.get(tokenHash, now);
    if (cached) return cloneIdentity(cached.identity);

    const record = await this.#store.getToken(tokenHash);
    if (!record) return undefined;
    if (record.expiresAt <= now) {
      await this.#store.deleteToken(tokenHash);
      return undefined;
    }
    const identity = makeIdentity(record);
    this.#remember(tokenHash, identity, record.expiresAt);
    return cloneIdentity(identity);
  }

  /** Logs a token out everywhere. */
  async revoke(token: string): Promise<void> {
    const tokenHash = hashToken(token);
    this.#cache.delete(tokenHash);
    await this.#store.deleteToken(tokenHash);
  }

  /** Drops one cached validation (the store is asked again next time). */
  forget(tokenHash: string): void {
    this.#cache.delete(tokenHash);
  }

  /** Drops the cached validations of one user, after its tokens were deleted from the store. */
  forgetUser(account: string, user: string): number {
    return this.#cache.deleteWhere((entry) => entry.identity.account === account && entry.identity.user === user);
  }

  clear(): void {
    this.#cache.clear();
  }

  /** Deletes expired tokens from the store and the cache; returns how many the store removed. */
  async purgeExpired(): Promise<number> {
    const now = this.#now();
    this.#cache.prune(now);
    return this.#store.purgeExpiredTokens(now);
  }

  #remember(tokenHash: string, identity: Identity, expiresAt: number): void {
    this.#cache.set(tokenHash, { identity, expiresAt }, Math.min(expiresAt, this.#now() + this.#cacheTtlMs));
  }
}

// Callers get their own copy so mutating one cannot leak into the next request.
function cloneIdentity(identity: Identity): Identity {
  return { ...identity, groups: [...identity.groups] };
}
