/**
 * `swiftgate migrate`: copies a whole data set from one configuration's backends to
 * another's (LevelDB → PostgreSQL, local disk → S3, or any mix): accounts, containers
 * with their metadata and ACLs, objects (records and bytes, re-streamed and checked
 * against the ETag), users and custom domains.
 *
 * Objects are written through the destination's Namespace, so the bytes go through the
 * same pending → durable → commit path as an upload (an interrupted copy leaves nothing
 * half-written), and gateways already running on the destination hear the change.
 * Re-running is safe and cheap: an object already at the destination with the same ETag
 * and timestamp is skipped. Tokens are not copied: stores keep only their hashes and
 * offer no way to list them; clients simply log in again.
 */
import type { Core } from './core.ts';
import type { AccountRecord, ContainerRecord, ObjectRecord } from './core/types.ts';

export interface MigrateProgress {
  /** Objects in the source, from its account counts (known before copying starts). */
  totalObjects: number;
  totalBytes: number;
  objects: number; // handled so far: copied + skipped + failed
  copied: number;
  skipped: number;
  bytes: number; // bytes copied (not counting skipped objects)
  elapsedMs: number;
}

export interface MigrateReport extends MigrateProgress {
  accounts: number;
  containers: number;
  users: number;
  domains: number;
  /** One line per object or record that could not be copied or verified. */
  failures: string[];
}

export interface MigrateOptions {
  /** Objects copied at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called about every `progressMs` and once at the end. */
  onProgress?: (p: MigrateProgress) => void;
  progressMs?: number;
  /** Called after each object is handled (tests use it to interrupt at a chosen point). */
  onObject?: (p: MigrateProgress) => void;
}

type Side = Pick<Core, 'store' | 'namespace' | 'feed'>;

export async function migrate(src: Side, dst: Side, opts: MigrateOptions = {}): Promise<MigrateReport> {
  const started = Date.now();
  const r: MigrateReport = {
    totalObjects: 0,
    totalBytes: 0,
    objects: 0,
    copied: 0,
    skipped: 0,
    bytes: 0,
    elapsedMs: 0,
    accounts: 0,
    containers: 0,
    users: 0,
    domains: 0,
    failures: [],
  };
  const snapshot = (): MigrateProgress => ({
    totalObjects: r.totalObjects,
    totalBytes: r.totalBytes,
    objects: r.objects,
    copied: r.copied,
    skipped: r.skipped,
    bytes: r.bytes,
    elapsedMs: Date.now() - started,
  });
  const accounts: AccountRecord[] = [];
  for await (const a of src.store.scanAccounts()) {
    accounts.push(a);
    r.totalObjects += a.objectCount;
    r.totalBytes += a.bytesUsed;
  }
  const ticker = opts.onProgress ? setInterval(() => opts.onProgress?.(snapshot()), opts.progressMs ?? 1000) : undefined;
  try {
    // Identity first: a gateway on the destination can authenticate while objects copy.
    for (const u of await src.store.listUsers()) {
      abortIfAsked(opts.signal);
      const have = await dst.store.getUser(u.account, u.user);
      if (!have || have.keyHash !== u.keyHash || have.groups.join('\n') !== u.groups.join('\n')) {
        await dst.store.putUser(u);
        await dst.feed.publish([{ kind: 'user', op: 'update', account: u.account, user: u.user }]);
      }
      r.users++;
    }
    for (const a of accounts) {
      abortIfAsked(opts.signal);
      await copyAccount(dst, a);
      r.accounts++;
      for await (const c of src.store.scanContainers(a.name)) {
        await copyContainer(dst, c);
        r.containers++;
        await forEachConcurrently(src.store.scanObjects(a.name, c.name), opts.concurrency ?? 8, opts.signal, async (o) => {
          try {
            const outcome = await copyObject(src, dst, o, opts.signal);
            if (outcome === 'skipped') r.skipped++;
            else {
              r.copied++;
              r.bytes += o.size;
            }
          } catch (err) {
            if (opts.signal?.aborted) throw err;
            r.failures.push(`${o.account}/${o.container}/${o.name}: ${(err as Error).message}`);
          }
          r.objects++;
          opts.onObject?.(snapshot());
        });
      }
    }
    for (const d of await src.store.listDomains()) {
      abortIfAsked(opts.signal);
      const have = await dst.store.getDomain(d.domain);
      if (have && (have.account !== d.account || have.container !== d.container)) {
        r.failures.push(`domain ${d.domain}: mapped to ${have.account}/${have.container} at the destination, ${d.account}/${d.container} at the source`);
        continue;
      }
      if (!have) {
        await dst.store.claimDomain(d);
        await dst.feed.publish([{ kind: 'domain', op: 'put', account: d.account, domain: d.domain }]);
      }
      r.domains++;
    }
  } finally {
    if (ticker) clearInterval(ticker);
  }
  r.elapsedMs = Date.now() - started;
  opts.onProgress?.(snapshot());
  return r;
}

async function copyAccount(dst: Side, a: AccountRecord): Promise<void> {
  const init = { meta: { set: a.meta }, sysmeta: { set: a.sysmeta } };
  const { created } = await dst.store.createAccount(a.name, a.putTimestamp, init);
  if (!created) await dst.store.updateAccount(a.name, init, a.putTimestamp);
  await dst.feed.publish([{ kind: 'account', op: created ? 'put' : 'update', account: a.name }]);
}

async function copyContainer(dst: Side, c: ContainerRecord): Promise<void> {
  // Creates it, or updates the settings of an existing one: safe to repeat.
  const { created } = await dst.store.createContainer(c.account, c.name, c.putTimestamp, {
    meta: c.meta,
    sysmeta: c.sysmeta,
    readAcl: c.readAcl,
    writeAcl: c.writeAcl,
    policy: c.policy,
  });
  await dst.feed.publish([{ kind: 'container', op: created ? 'put' : 'update', account: c.account, container: c.name }]);
}

/** Copies one object unless the destination has it already; the bytes must hash to the ETag. */
async function copyObject(src: Side, dst: Side, o: ObjectRecord, signal: AbortSignal | undefined): Promise<'copied' | 'skipped'> {
  const have = await dst.store.getObject(o.account, o.container, o.name);
  if (have && have.etag === o.etag && have.timestamp === o.timestamp && have.size === o.size) {
    if (have.metaTimestamp !== o.metaTimestamp) await restoreMetaTimestamp(dst, o);
    return 'skipped';
  }
  // Newer at the destination (written there since): Swift's rule, the newest timestamp wins.
  if (have && have.timestamp > o.timestamp) return 'skipped';
  const { stream } = await src.namespace.openObject(o);
  try {
    await dst.namespace.putObject(o.account, o.container, o.name, stream, {
      contentType: o.contentType,
      meta: o.meta,
      headers: o.headers,
      ...(o.deleteAt !== undefined ? { deleteAt: o.deleteAt } : {}),
      // The destination recomputes MD5 while streaming and refuses bytes that do not match.
      expectedEtag: o.etag,
      expectedSize: o.size,
      timestamp: o.timestamp,
      ...(signal ? { signal } : {}),
    });
  } finally {
    stream.destroy();
  }
  if (o.metaTimestamp !== o.timestamp) await restoreMetaTimestamp(dst, o);
  return 'copied';
}

/** A POST after the PUT moved Last-Modified on: keep it. */
async function restoreMetaTimestamp(dst: Side, o: ObjectRecord): Promise<void> {
  await dst.store.updateObjectMeta(o.account, o.container, o.name, { meta: { set: o.meta, replace: true } }, o.metaTimestamp);
  await dst.feed.publish([{ kind: 'object', op: 'update', account: o.account, container: o.container, object: o.name }]);
}

function abortIfAsked(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('migration interrupted');
}

/** Runs `fn` over an async iterable with at most `n` calls in flight; the first error stops it. */
async function forEachConcurrently<T>(
  items: AsyncIterable<T>,
  n: number,
  signal: AbortSignal | undefined,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.asyncIterator]();
  let failed: unknown;
  // Scans are async generators: pulls must not overlap.
  let pulling: Promise<unknown> = Promise.resolve();
  const next = (): Promise<IteratorResult<T>> => {
    const p = pulling.then(() => it.next());
    pulling = p.catch(() => undefined);
    return p;
  };
  await Promise.all(
    Array.from({ length: Math.max(1, n) }, async () => {
      for (;;) {
        if (failed !== undefined) return;
        if (signal?.aborted) {
          failed ??= signal.reason ?? new Error('migration interrupted');
          return;
        }
        const step = await next();
        if (step.done) return;
        try {
          await fn(step.value);
        } catch (err) {
          failed ??= err;
        }
      }
    }),
  );
  if (failed !== undefined) {
    await it.return?.();
    throw failed;
  }
}

/** One progress line: counts, bytes and rate. */
export function formatProgress(p: MigrateProgress): string {
  const s = Math.max(p.elapsedMs / 1000, 0.001);
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  return (
    `migrate: ${p.objects}/${p.totalObjects} objects (${p.copied} copied, ${p.skipped} already there), ` +
    `${mib(p.bytes)} MiB copied of ${mib(p.totalBytes)} MiB, ${(p.copied / s).toFixed(1)} objects/s, ${mib(p.bytes / s)} MiB/s`
  );
}
