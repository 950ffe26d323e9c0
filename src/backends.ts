/**
 * Scale-out backends, loaded only when configured so the embedded default never pulls in
 * the PostgreSQL or S3 clients: PostgreSQL for metadata shared by many gateways (events
 * between them over LISTEN/NOTIFY), S3-compatible object stores for bytes.
 */
import { S3BlobStore } from '../storage-backends/s3.ts';
import type { BlobStore } from '../storage-backends/blob-store.ts';
import type { ChangeFeed } from './core/change-feed.ts';
import { errors } from './core/errors.ts';
import type { Config } from './config.ts';
import { PostgresChangeFeed } from './metadata/pg/change-feed.ts';
import { PostgresMetadataStore } from './metadata/pg/store.ts';
import type { MetadataStore } from './metadata/store.ts';

export async function openS3BlobStore(config: Config): Promise<BlobStore> {
  const s3 = config.blobs.s3;
  if (!s3) throw errors.invalidArgument('blobs.backend = "s3" needs a [blobs.s3] section');
  return S3BlobStore.open({
    bucket: s3.bucket,
    prefix: s3.prefix,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    createBucket: s3.createBucket,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3.accessKeyId ? { accessKeyId: s3.accessKeyId } : {}),
    ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
  });
}

export async function openPostgres(config: Config): Promise<{ store: MetadataStore; feed: ChangeFeed; close(): Promise<void> }> {
  const url = config.metadata.postgresUrl;
  if (!url) throw errors.invalidArgument('metadata.backend = "postgres" needs metadata.postgres_url');
  const store = await PostgresMetadataStore.open({ connectionString: url });
  const feed = await PostgresChangeFeed.open({
    connectionString: url,
    pool: store.pool,
    onError: (err) => process.stderr.write(`swiftgate: change feed: ${err.message}\n`),
  });
  return { store, feed, close: () => feed.close() };
}
