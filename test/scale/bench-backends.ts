/**
 * Numbers for the scale-out backends, each against a real server started here:
 *
 *   blobs: PUT/GET of 4 KiB (16 in flight) and 100 MiB (one at a time), S3BlobStore on
 *          Swift's s3api vs LocalDiskBlobStore;
 *   meta:  object commits/s with 16 concurrent writers, PostgresMetadataStore (fsync on)
 *          vs LevelMetadataStore (sync on), plus listing latency.
 *
 *   npx tsx test/scale/bench-backends.ts [blobs] [meta]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ObjectRecord } from '../../src/core/types.ts';
import { LevelMetadataStore } from '../../src/metadata/level-store.ts';
import { PostgresMetadataStore } from '../../src/metadata/pg/store.ts';
import type { MetadataStore } from '../../src/metadata/store.ts';
import type { BlobStore } from '../../storage-backends/blob-store.ts';
import { LocalDiskBlobStore } from '../../storage-backends/local-disk.ts';
import { S3BlobStore } from '../../storage-backends/s3.ts';
import { startPgServer } from './pg-server.ts';
import { startSwiftS3 } from './swift-s3.ts';

const MiB = 1024 * 1024;
const which = new Set(process.argv.slice(2));
const all = which.size === 0;

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function drain(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s as AsyncIterable<Buffer>) n += c.length;
  return n;
}

function big(total: number): Readable {
  const chunk = Buffer.alloc(MiB, 0x5a);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) this.push(null);
      else {
        sent += chunk.length;
        this.push(chunk);
      }
    },
  });
}

async function benchBlobs(name: string, store: BlobStore): Promise<Record<string, string>> {
  const small = randomBytes(4096);
  const n = 2000;
  const ids: string[] = [];
  const put = await timed(() =>
    pool(n, 16, async () => {
      const id = store.newBlobId();
      await store.write(id, Readable.from([small]), { expectedSize: small.length });
      ids.push(id);
    }),
  );
  const get = await timed(() => pool(n, 16, async (i) => void (await drain(await store.read(ids[i % ids.length]!)))));
  const bigId = store.newBlobId();
  const put100 = await timed(async () => void (await store.write(bigId, big(100 * MiB), { expectedSize: 100 * MiB })));
  let got = 0;
  const get100 = await timed(async () => void (got = await drain(await store.read(bigId))));
  if (got !== 100 * MiB) throw new Error(`${name}: read ${got} bytes`);
  await pool(ids.length, 16, (i) => store.delete(ids[i]!));
  await store.delete(bigId);
  return {
    backend: name,
    'PUT 4 KiB /s': (n / put).toFixed(0),
    'GET 4 KiB /s': (n / get).toFixed(0),
    'PUT 100 MiB MB/s': ((100 * MiB) / 1e6 / put100).toFixed(0),
    'GET 100 MiB MB/s': ((100 * MiB) / 1e6 / get100).toFixed(0),
  };
}

function rec(account: string, container: string, name: string, i: number): ObjectRecord {
  const ts = (1_700_000_000 + i / 1000).toFixed(5);
  return {
    account,
    container,
    name,
    size: 4096,
    etag: createHash('md5').update(name).digest('hex'),
    contentType: 'application/octet-stream',
    timestamp: ts,
    metaTimestamp: ts,
    blobId: `b${i}`,
    meta: { owner: 'bench' },
    headers: {},
  };
}

async function benchMeta(name: string, store: MetadataStore): Promise<Array<Record<string, string>>> {
  const rows: Array<Record<string, string>> = [];
  const writers = 16;
  const per = 250;
  const scenarios: Array<[string, (w: number) => [string, string]]> = [
    ['16 writers, 16 containers, 1 account', (w) => ['AUTH_one', `c${w}`]],
    ['16 writers, 16 accounts', (w) => [`AUTH_w${w}`, 'c']],
    ['16 writers, 1 container', () => ['AUTH_hot', 'c']],
  ];
  let seq = 0;
  for (const [label, target] of scenarios) {
    for (let w = 0; w < writers; w++) {
      const [a, c] = target(w);
      await store.createContainer(a, c, '1700000000.00000');
    }
    const secs = await timed(() =>
      Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const [a, c] = target(w);
          for (let i = 0; i < per; i++) {
            const k = ++seq;
            await store.commitObjects(a, c, [{ op: 'put', record: rec(a, c, `dir${k % 50}/obj${k}`, k) }]);
          }
        }),
      ).then(() => undefined),
    );
    rows.push({ store: name, scenario: label, 'commits/s': ((writers * per) / secs).toFixed(0) });
  }
  // Listing latency on the 4000-object container: a page of 1000, and a delimiter page.
  const reps = 50;
  const page = await timed(() => pool(reps, 1, async () => void (await store.listObjects('AUTH_hot', 'c', { limit: 1000 }))));
  const delim = await timed(() => pool(reps, 1, async () => void (await store.listObjects('AUTH_hot', 'c', { limit: 1000, delimiter: '/' }))));
  const one = await timed(() => pool(500, 1, async (i) => void (await store.getObject('AUTH_hot', 'c', `dir${i % 50}/obj${i + 1}`))));
  rows.push({
    store: name,
    scenario: 'reads',
    'list 1000 ms': ((page / reps) * 1000).toFixed(2),
    'list delimiter=/ (50 subdirs) ms': ((delim / reps) * 1000).toFixed(2),
    'getObject ms': ((one / 500) * 1000).toFixed(3),
  });
  return rows;
}

if (all || which.has('blobs')) {
  const dir = await mkdtemp(join(tmpdir(), 'swiftgate-bench-disk-'));
  const swift = await startSwiftS3();
  try {
    const local = await LocalDiskBlobStore.open({ root: dir });
    const s3 = await S3BlobStore.open({
      bucket: 'swiftgate-bench',
      region: swift.region,
      endpoint: swift.endpoint,
      forcePathStyle: true,
      accessKeyId: swift.accessKeyId,
      secretAccessKey: swift.secretAccessKey,
      createBucket: true,
    });
    console.table([await benchBlobs('local disk (ext4, fsync)', local), await benchBlobs('S3 (Swift s3api, 1 proxy worker, data on tmpfs)', s3)]);
    await s3.close();
    await local.close();
  } finally {
    await swift.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (all || which.has('meta')) {
  const pg = await startPgServer({ durable: true });
  const dir = await mkdtemp(join(tmpdir(), 'swiftgate-bench-level-'));
  try {
    const pgStore = await PostgresMetadataStore.open({ connectionString: pg.connectionString, pool: { max: 16 } });
    const level = await LevelMetadataStore.open(dir, { sync: true });
    console.table([...(await benchMeta('PostgreSQL 15 (fsync on, pool 16)', pgStore)), ...(await benchMeta('LevelDB (sync)', level))]);
    await pgStore.close();
    await level.close();
  } finally {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
