/**
 * Optional backends for scale-out, loaded only when configured so the embedded default
 * never pulls in the PostgreSQL or S3 clients.
 */
import type { BlobStore } from '../storage-backends/blob-store.ts';
import type { ChangeFeed } from './core/change-feed.ts';
import { errors } from './core/errors.ts';
import type { Config } from './config.ts';
import type { MetadataStore } from './metadata/store.ts';

export async function openS3BlobStore(config: Config): Promise<BlobStore> {
  if (!config.blobs.s3) throw errors.invalidArgument('blobs.backend = "s3" needs a [blobs.s3] section');
  throw errors.invalidArgument('the S3 blob backend is not wired yet');
}

export async function openPostgres(config: Config): Promise<{ store: MetadataStore; feed: ChangeFeed }> {
  if (!config.metadata.postgresUrl) throw errors.invalidArgument('metadata.backend = "postgres" needs metadata.postgres_url');
  throw errors.invalidArgument('the PostgreSQL metadata backend is not wired yet');
}
