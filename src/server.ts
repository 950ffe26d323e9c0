/**
 * Running the gateway. One process tree: the process that owns the metadata (the
 * embedded LevelDB, or simply the first process with PostgreSQL) runs upkeep, FTP and
 * FUSE; HTTP runs in `workers` processes that share the port (node:cluster), each
 * reaching the store through the metadata host, so every core does HTTP work while
 * tokens and cache invalidation stay coherent. With one worker everything runs in-process.
 */
import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildHttpApp } from '../interfaces/http/app.ts';
import { type Config, workerCount } from './config.ts';
import { type Core, openCore, paths } from './core.ts';
import { ensureFirstUser } from './first-run.ts';
import { MetadataHost } from './rpc/metadata-host.ts';
import { untilSignal } from './signals.ts';
import { startUpkeep } from './upkeep.ts';

export interface RunningView {
  name: string;
  /** Where it listens or is mounted, for the start-up banner. */
  address: string;
  close(): Promise<void>;
}

export interface Gateway {
  core: Core;
  views: RunningView[];
  /** The HTTP URL (in cluster mode: the shared port). */
  httpUrl?: string;
  close(): Promise<void>;
}

const log = (msg: string) => process.stderr.write(`swiftgate: ${msg}\n`);

export async function startHttp(core: Core, config: Config): Promise<RunningView> {
  const app = await buildHttpApp({
    namespace: core.namespace,
    users: core.users,
    tokens: core.tokens,
    domains: core.domains,
    ...(config.domains.storageDomain ? { storageDomain: config.domains.storageDomain } : {}),
    config: {
      tokenTtlSeconds: config.auth.tokenTtlSeconds,
      ...(config.http.storageUrlBase ? { storageUrlBase: config.http.storageUrlBase } : {}),
    },
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { name: 'http', address: `http://${host}:${addr.port}`, close: () => app.close() };
}

/** Views that run next to the store owner (FTP, FUSE, purge notifier); each is loaded only when enabled. */
async function startOwnerViews(core: Core, config: Config): Promise<RunningView[]> {
  const views: RunningView[] = [];
  if (config.purge.targets.length > 0) {
    const { PurgeNotifier } = await import('./purge/notifier.ts');
    const base = config.purge.apiBase ?? config.http.storageUrlBase;
    const notifier = new PurgeNotifier(core.feed, core.domains, {
      targets: config.purge.targets,
      ...(base ? { apiBase: base } : {}),
      ...(config.domains.storageDomain ? { storageDomain: config.domains.storageDomain } : {}),
    });
    views.push({ name: 'purge', address: config.purge.targets.map((t) => `${t.mode} ${t.url}`).join(', '), close: () => notifier.close() });
  }
  if (config.ftp.enabled) {
    const { startFtp } = await import('../interfaces/ftp/index.ts');
    views.push(await startFtp(core, config));
  }
  if (config.fuse.mountpoint) {
    const { mountLocal } = await import('../interfaces/fuse/index.ts');
    views.push(await mountLocal(core, config.fuse.mountpoint, config));
  }
  return views;
}

/**
 * Uploads pending before this are abandoned. A shared database also lists other running
 * gateways' uploads as pending: leave those alone unless older than an hour (S3's
 * multipart uploads get the same age, see S3BlobStoreOptions.abandonedUploadAgeMs).
 */
function pendingCutoff(config: Config): number {
  return Date.now() - (config.metadata.backend === 'postgres' ? 3_600_000 : 0);
}

/** Single process: store, upkeep and every view here. Also what tests use. */
export async function startGateway(config: Config, opts: { quiet?: boolean } = {}): Promise<Gateway> {
  mkdirSync(config.dataDir, { recursive: true });
  const core = await openCore(config, 'owner');
  const recovered = await core.namespace.recover(pendingCutoff(config));
  if (!opts.quiet && recovered.pending + recovered.temp + recovered.garbage > 0)
    log(`recovered after an unclean stop: ${recovered.temp} temp files, ${recovered.pending} uncommitted and ${recovered.garbage} unreferenced blobs removed`);
  await ensureFirstUser(core, opts.quiet ? () => undefined : (m) => process.stdout.write(`${m}\n`));
  const stopUpkeep = startUpkeep(core, log);
  const views: RunningView[] = [];
  try {
    if (config.http.enabled) views.push(await startHttp(core, config));
    views.push(...(await startOwnerViews(core, config)));
  } catch (err) {
    for (const v of views) await v.close().catch(() => undefined);
    stopUpkeep();
    await core.close();
    throw err;
  }
  const http = views.find((v) => v.name === 'http');
  return {
    core,
    views,
    ...(http ? { httpUrl: http.address } : {}),
    async close() {
      stopUpkeep();
      for (const v of views.reverse()) await v.close().catch((e: Error) => log(`closing ${v.name}: ${e.message}`));
      await core.close();
    },
  };
}

/**
 * `swiftgate serve`: picks single-process or cluster mode and runs until SIGINT/SIGTERM.
 */
export async function serve(config: Config): Promise<void> {
  const workers = config.http.enabled ? workerCount(config) : 1;
  if (cluster.isWorker) return runWorker(config);
  if (workers <= 1) {
    const gw = await startGateway(config);
    banner(gw.views);
    await untilSignal();
    log('shutting down');
    await gw.close();
    return;
  }
  await runPrimary(config, workers);
}

async function runPrimary(config: Config, workers: number): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const core = await openCore(config, 'owner');
  const host = config.metadata.backend === 'level' ? new MetadataHost(core.store, core.feed) : undefined;
  await host?.listen(paths.socket(config));
  const recovered = await core.namespace.recover(pendingCutoff(config));
  if (recovered.pending + recovered.temp + recovered.garbage > 0)
    log(`recovered after an unclean stop: ${recovered.temp} temp files, ${recovered.pending} uncommitted and ${recovered.garbage} unreferenced blobs removed`);
  await ensureFirstUser(core, (m) => process.stdout.write(`${m}\n`));
  const stopUpkeep = startUpkeep(core, log);
  const ownerViews = await startOwnerViews(core, config);

  let stopping = false;
  const fork = () => cluster.fork({ SWIFTGATE_CONFIG_JSON: JSON.stringify(config) });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log(`HTTP worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(fork, 500).unref();
  });
  const ready = new Promise<string>((resolve) => {
    let n = 0;
    cluster.on('message', (_w, msg: unknown) => {
      const m = msg as { t?: string; address?: string };
      if (m.t === 'listening' && ++n === workers && m.address) resolve(m.address);
    });
  });
  for (let i = 0; i < workers; i++) fork();
  const address = await ready;
  banner([{ name: `http (${workers} workers)`, address, close: async () => undefined }, ...ownerViews]);

  await untilSignal();
  stopping = true;
  log('shutting down');
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    const check = () => (Object.keys(cluster.workers ?? {}).length === 0 ? resolve() : setTimeout(check, 50));
    check();
  });
  for (const v of ownerViews) await v.close().catch(() => undefined);
  stopUpkeep();
  await host?.close();
  await core.close();
}

async function runWorker(fallback: Config): Promise<void> {
  const config = process.env.SWIFTGATE_CONFIG_JSON ? (JSON.parse(process.env.SWIFTGATE_CONFIG_JSON) as Config) : fallback;
  const core = await openCore(config, config.metadata.backend === 'level' ? 'client' : 'owner');
  const http = await startHttp(core, config);
  process.send?.({ t: 'listening', address: http.address });
  await untilSignal();
  await http.close();
  await core.close();
  process.exit(0);
}

function banner(views: RunningView[]): void {
  for (const v of views) process.stdout.write(`swiftgate ${v.name} on ${v.address}\n`);
}
