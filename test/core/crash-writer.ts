/**
 * Child process for test/core/crash-safety.test.ts: opens the real store, blob store and
 * namespace on <datadir> and writes until it is killed.
 *
 *   node --import tsx test/core/crash-writer.ts <datadir> <seed>
 *
 * Several workers run at once, each owning its own names (so each name's operations
 * are sequential and their outcome is predictable). Every operation is announced on
 * stdout before it starts and confirmed after it returns, one JSON line each:
 *
 *   {"t":"start","w":0,"op":"put","name":"w0-n3","etag":"…","size":123}
 *   {"t":"done","w":0}
 *
 * stdout is a pipe, which Node writes synchronously on Linux: a line printed before
 * SIGKILL is a line the test reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalDiskBlobStore } from '../../storage-backends/local-disk.ts';
import { LocalChangeFeed } from '../../src/core/change-feed.ts';
import { DEFAULT_CONSTRAINTS } from '../../src/core/constraints.ts';
import { Namespace } from '../../src/core/namespace.ts';
import { LevelMetadataStore } from '../../src/metadata/level-store.ts';
import { Rng } from './prng.ts';

export const CRASH_ACCOUNT = 'AUTH_crash';
export const WORKERS = 6;
export const NAMES_PER_WORKER = 6;
export const containerOf = (worker: number) => `c${worker % 2}`;
export const nameOf = (worker: number, n: number) => `w${worker}-n${n}`;

export type CrashOp =
  | { op: 'put'; name: string; etag: string; size: number }
  | { op: 'delete'; name: string }
  | { op: 'rename'; name: string; to: string }
  | { op: 'copy'; name: string; to: string };

async function main(): Promise<void> {
  const [dataDir, seedArg] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: crash-writer.ts <datadir> [seed]');
  const rng = new Rng(Number(seedArg ?? 1));
  const store = await LevelMetadataStore.open(join(dataDir, 'meta'));
  const blobs = await LocalDiskBlobStore.open({ root: join(dataDir, 'objects') });
  const ns = new Namespace({ store, blobs, feed: new LocalChangeFeed(), constraints: DEFAULT_CONSTRAINTS });
  await ns.createContainer(CRASH_ACCOUNT, 'c0');
  await ns.createContainer(CRASH_ACCOUNT, 'c1');
  const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  say({ t: 'ready' });

  const worker = async (w: number): Promise<never> => {
    const container = containerOf(w);
    // Pick up where the last (killed) run left these names.
    const present = new Set<string>();
    for (let n = 0; n < NAMES_PER_WORKER; n++) if (await store.getObject(CRASH_ACCOUNT, container, nameOf(w, n))) present.add(nameOf(w, n));
    for (;;) {
      const name = nameOf(w, rng.int(0, NAMES_PER_WORKER - 1));
      const other = nameOf(w, rng.int(0, NAMES_PER_WORKER - 1));
      const r = rng.int(0, 99);
      if (!present.has(name) || r < 55) {
        const size = rng.chance(0.05) ? 0 : rng.int(0, 256 * 1024);
        const body = randomBytes(size);
        const etag = createHash('md5').update(body).digest('hex');
        say({ t: 'start', w, op: 'put', name, etag, size });
        const chunks: Buffer[] = [];
        for (let i = 0; i < size; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
        await ns.putObject(CRASH_ACCOUNT, container, name, Readable.from(chunks), {
          contentType: 'application/octet-stream',
          ...(rng.chance(0.5) ? { expectedSize: size } : {}),
          // As a FUSE close does: acknowledged before the fsync, yet never lost to a crash of this process.
          ...(rng.chance(0.5) ? { durable: false } : {}),
        });
        present.add(name);
      } else if (r < 70) {
        say({ t: 'start', w, op: 'delete', name });
        await ns.deleteObject(CRASH_ACCOUNT, container, name);
        present.delete(name);
      } else if (r < 85 && other !== name) {
        say({ t: 'start', w, op: 'rename', name, to: other });
        await ns.renameObject(CRASH_ACCOUNT, container, name, other);
        present.delete(name);
        present.add(other);
      } else if (other !== name) {
        say({ t: 'start', w, op: 'copy', name, to: other });
        await ns.copyObject({ account: CRASH_ACCOUNT, container, name }, { account: CRASH_ACCOUNT, container, name: other });
        present.add(other);
      } else {
        continue;
      }
      say({ t: 'done', w });
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  main().catch((err) => {
    process.stderr.write(`crash-writer failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  });
}
