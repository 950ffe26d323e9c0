/**
 * Opening the core: metadata store + blob store + change feed → Namespace, plus the
 * identity services. Which store and feed depends on the process's role: the owner of
 * an embedded LevelDB opens it; other processes reach it through the metadata host.
 */
import { join } from 'node:path';
import { TokenService } from '../auth/tokens.ts';
import { UserDirectory } from '../auth/users.ts';
import type { BlobStore } from '../storage-backends/blob-store.ts';
import { LocalDiskBlobStore } from '../storage-backends/local-disk.ts';
import { type ChangeFeed, LocalChangeFeed } from './core/change-feed.ts';
import type { Config } from './config.ts';
import { DEFAULT_CONSTRAINTS } from './core/constraints.ts';
import { Namespace } from './core/namespace.ts';
import { ReadCache } from './cache/read-cache.ts';
import { DomainDirectory } from './domains.ts';
import { LevelMetadataStore } from './metadata/level-store.ts';
import type { MetadataStore } from './metadata/store.ts';
import { MetadataConnection, RemoteChangeFeed, RemoteMutator, remoteMetadataStore } from './rpc/metadata-client.ts';

export interface Core {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  feed: ChangeFeed;
  namespace: Namespace;
  users: UserDirectory;
  tokens: TokenService;
  domains: DomainDirectory;
  close(): Promise<void>;
}

export const paths = {
  metadata: (c: Config) => join(c.dataDir, 'meta'),
  blobs: (c: Config) => join(c.dataDir, 'objects'),
  socket: (c: Config) => join(c.dataDir, 'swiftgate.sock'),
};

export type CoreRole =
  /** This process owns the embedded store (single process, or the cluster primary). */
  | 'owner'
  /** Reach the store through the metadata host of a running server. */
  | 'client';

export async function openBlobStore(config: Config): Promise<BlobStore> {
  if (config.blobs.backend === 's3') {
    const { openS3BlobStore } = await import('./backends.ts');
    return openS3BlobStore(config);
  }
  return LocalDiskBlobStore.open({ root: paths.blobs(config) });
}

export async function openCore(config: Config, role: CoreRole): Promise<Core> {
  let store: MetadataStore;
  let feed: ChangeFeed;
  let connection: MetadataConnection | undefined;
  let closeFeed: (() => Promise<void>) | undefined;
  if (config.metadata.backend === 'postgres') {
    const { openPostgres } = await import('./backends.ts');
    ({ store, feed, close: closeFeed } = await openPostgres(config));
  } else if (role === 'owner') {
    store = await LevelMetadataStore.open(paths.metadata(config));
    feed = new LocalChangeFeed();
  } else {
    connection = await MetadataConnection.connect(paths.socket(config));
    store = remoteMetadataStore(connection);
    feed = new RemoteChangeFeed(connection);
  }
  const blobs = await openBlobStore(config);
  const cache = config.cache.enabled
    ? new ReadCache(feed, { maxObjectBytes: config.cache.maxObjectBytes, maxTotalBytes: config.cache.maxTotalBytes })
    : undefined;
  const namespace = new Namespace({
    store,
    blobs,
    feed,
    constraints: DEFAULT_CONSTRAINTS,
    ...(cache ? { cache } : {}),
    // Through a metadata host, a mutation and its publication take one round trip.
    ...(connection ? { mutator: new RemoteMutator(connection) } : {}),
    // Small objects ride in the metadata commit (one fsync instead of three); the
    // PostgreSQL store keeps no bytes, so there they always go to the blob store.
    inlineMaxBytes: config.metadata.backend === 'level' ? config.blobs.inlineMaxBytes : 0,
  });
  const tokens = new TokenService(store, { ttlSeconds: config.auth.tokenTtlSeconds });
  // Revocations are broadcast to every process; close() waits for them, so a CLI
  // `user remove` has reached every worker before it reports success.
  const revocations = new Set<Promise<void>>();
  const users = new UserDirectory(store, {
    onTokensRevoked: (account, user) => {
      tokens.forgetUser(account, user);
      const p: Promise<void> = feed
        .publish([{ kind: 'user', op: 'update', account, user }])
        .catch((err: unknown) => {
          process.stderr.write(`swiftgate: could not broadcast a token revocation: ${(err as Error).message}\n`);
        })
        .finally(() => revocations.delete(p));
      revocations.add(p);
    },
  });
  // Another process revoked a user's tokens: drop them from this process's cache too.
  // Account '*' is the shared feed's "you may have missed events: drop everything".
  feed.subscribe((events) => {
    for (const e of events) {
      if (e.account === '*') tokens.clear();
      else if (e.kind === 'user' && e.user !== undefined) tokens.forgetUser(e.account, e.user);
    }
  });
  return {
    config,
    store,
    blobs,
    feed,
    namespace,
    users,
    tokens,
    domains: new DomainDirectory(store, feed, DEFAULT_CONSTRAINTS),
    async close() {
      await Promise.allSettled([...revocations]);
      await closeFeed?.();
      await blobs.close();
      await store.close();
      connection?.close();
    },
  };
}

/** Opens the core for a CLI command: directly if no server runs, else through it. */
export async function openCoreForCommand(config: Config): Promise<Core> {
  if (config.metadata.backend === 'postgres') return openCore(config, 'owner');
  try {
    return await openCore(config, 'owner');
  } catch (err) {
    if ((err as { code?: string }).code !== 'SG_STORE_LOCKED') throw err;
    return openCore(config, 'client');
  }
}
