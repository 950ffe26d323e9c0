/**
 * Starts the shared backends (PostgreSQL + S3 on Swift's s3api), writes `export VAR=…`
 * lines for them to the file given as argv[2], and keeps them up until SIGTERM/SIGINT.
 * Used by run-http-suite-on-shared.sh.
 */
import { writeFileSync } from 'node:fs';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { sharedEnv, startSharedBackends } from './cluster.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: shared-up.ts ENV_FILE');
const b = await startSharedBackends();
const env = {
  ...sharedEnv(b),
  SWIFTGATE_S3_CREATE_BUCKET: '1',
  // Test harnesses each take a fresh database on this server (http-suite-setup.ts).
  SWIFTGATE_SHARED_PG_URL: b.pg.connectionString,
};
writeFileSync(out, Object.entries(env).map(([k, v]) => `export ${k}=${JSON.stringify(v)}\n`).join(''));
process.stdout.write('shared backends up\n');
/** Proof that the runs used these backends: databases made and S3 keys written. */
async function usage(): Promise<string> {
  const c = new pg.Client(b.pg.connectionString);
  await c.connect();
  const dbs = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_database WHERE datname LIKE 'sg\\_%'`);
  const objects = await c.query<{ n: string }>('SELECT count(*) AS n FROM objects').catch(() => ({ rows: [{ n: '0' }] }));
  await c.end();
  const s3 = new S3Client({
    region: b.s3.region,
    endpoint: b.s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: b.s3.accessKeyId, secretAccessKey: b.s3.secretAccessKey },
  });
  let keys = 0;
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: b.bucket, ContinuationToken: token }));
    keys += r.KeyCount ?? 0;
    token = r.NextContinuationToken;
  } while (token);
  s3.destroy();
  return `per-file databases: ${dbs.rows[0]?.n}, objects in the base database: ${objects.rows[0]?.n}, S3 keys in ${b.bucket}: ${keys}`;
}

const stop = async (): Promise<void> => {
  process.stdout.write(`${await usage().catch((e: unknown) => `usage: ${String(e)}`)}\n`);
  await b.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
