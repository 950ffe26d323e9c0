import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalChangeFeed } from './core/change-feed.ts';
import { DEFAULT_CONSTRAINTS } from './core/constraints.ts';
import { ErrorCodes, isSwiftgateError } from './core/errors.ts';
import { DomainDirectory, normalizeHost } from './domains.ts';
import { LevelMetadataStore } from './metadata/level-store.ts';

describe('normalizeHost', () => {
  it('lower-cases, drops the port and rejects what is not a host name', () => {
    expect(normalizeHost('St.Example.COM:8080')).toBe('st.example.com');
    expect(normalizeHost('st.example.com.')).toBe('st.example.com');
    expect(normalizeHost('[::1]:80')).toBeUndefined();
    expect(normalizeHost('a/../b')).toBeUndefined();
    expect(normalizeHost('')).toBeUndefined();
    expect(normalizeHost('-bad.example.com')).toBeUndefined();
  });
});

describe('DomainDirectory', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let feed: LocalChangeFeed;
  let domains: DomainDirectory;
  let other: DomainDirectory;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-dom-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    feed = new LocalChangeFeed();
    domains = new DomainDirectory(store, feed, DEFAULT_CONSTRAINTS);
    other = new DomainDirectory(store, feed, DEFAULT_CONSTRAINTS); // another process's resolver on the same feed
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves a mapped host case-insensitively and ignoring the port', async () => {
    await domains.add('st.theirsite.com', 'AUTH_a', 'public');
    expect((await other.resolve('ST.TheirSite.com:80'))?.container).toBe('public');
    expect(await other.resolve('unknown.example.com')).toBeUndefined();
  });

  it('a domain belongs to one account: another cannot claim or shadow it', async () => {
    await domains.add('st.theirsite.com', 'AUTH_a', 'public');
    const err = await domains.add('st.theirsite.com', 'AUTH_b', 'web').catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.CONFLICT)).toBe(true);
    const err2 = await domains.add('x.example.com', 'AUTH_b', 'web', 'AUTH_a').catch((e: unknown) => e);
    expect(isSwiftgateError(err2, ErrorCodes.FORBIDDEN)).toBe(true);
    const err3 = await domains.remove('st.theirsite.com', 'AUTH_b').catch((e: unknown) => e);
    expect(isSwiftgateError(err3, ErrorCodes.FORBIDDEN)).toBe(true);
    // The owner may re-point its own domain.
    await domains.add('st.theirsite.com', 'AUTH_a', 'other');
    expect((await other.resolve('st.theirsite.com'))?.container).toBe('other');
  });

  it('removal reaches every resolver through the feed', async () => {
    await domains.add('st.theirsite.com', 'AUTH_a', 'public');
    expect(await other.resolve('st.theirsite.com')).toBeDefined();
    expect(await domains.remove('st.theirsite.com')).toBe(true);
    expect(await other.resolve('st.theirsite.com')).toBeUndefined();
  });

  it('rejects hosts with ports or schemes and non-AUTH accounts', async () => {
    for (const bad of ['st.example.com:80', 'http://st.example.com', 'a b']) {
      const err = await domains.add(bad, 'AUTH_a', 'c').catch((e: unknown) => e);
      expect(isSwiftgateError(err, ErrorCodes.INVALID_ARGUMENT)).toBe(true);
    }
    const err = await domains.add('ok.example.com', 'a', 'c').catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.INVALID_ARGUMENT)).toBe(true);
  });
});
