/**
 * The FUSE view. Local mode talks to the core in this process, so a change over
 * HTTP/FTP shows in the mount at once and the other way round; remote mode mounts a
 * Swift endpoint over HTTP (remote/). Both run the same operations over a MountBackend.
 * Local mounts let the kernel cache names and attributes and invalidate them on every
 * change (kernel-cache.ts); remote ones keep kernel timeouts 0 unless asked. Repeats are
 * answered by a lookup cache that the backend's change reports keep exact (local; remote
 * on a swiftgate endpoint, whose change stream pushes them) or fresh within --cache-ttl
 * (remote otherwise).
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../src/config.ts';
import type { Core } from '../../src/core.ts';
import type { RunningView } from '../../src/server.ts';
import type { MountBackend } from './backend.ts';
import { Filesystem } from './filesystem.ts';
import { OpenFiles } from './files.ts';
import type { FuseInstance, FuseOptions } from './fuse-native.d.ts';
import { LocalBackend } from './local-backend.ts';
import { KernelCache, fuseDeviceFds } from './kernel-cache.ts';
import { LookupCache } from './lookup-cache.ts';
import { loadFuse } from './native.ts';
import { buildOperations } from './ops.ts';
import { PathMap } from './paths.ts';
import { RemoteBackend, type RemoteOptions } from './remote/backend.ts';
import { OwnChangeTracker, OwnChanges } from './own-changes.ts';
import { prepareSpoolDir } from './spool.ts';

export { FuseUnavailableError } from './native.ts';
export type { RemoteOptions } from './remote/backend.ts';

export interface MountOptions {
  /** Account to show (AUTH_x). Default: see resolveAccount. */
  account?: string;
  /** Show only this container, as the mount root. */
  container?: string;
  /** Seconds the kernel may cache attributes / names (default 0: changes show at once). */
  attrTimeout?: number;
  entryTimeout?: number;
  /** Let other users (e.g. the web server's) use the mount; permissions are then checked. */
  allowOther?: boolean;
  /**
   * Local mode: keep file contents in the kernel's page cache across opens (default true;
   * every change made elsewhere drops the pages of the file it changed).
   */
  pageCache?: boolean;
  /** Lookup-cache entry lifetime, ms (default 1000; 0 disables the cache). */
  lookupCacheTtlMs?: number;
  debug?: boolean;
  log?: (msg: string) => void;
}

const execFileP = promisify(execFile);
const defaultLog = (msg: string) => process.stderr.write(`swiftgate fuse: ${msg}\n`);

export async function mountLocal(core: Core, mountpoint: string, config: Config, opts: MountOptions = {}): Promise<RunningView> {
  const account = await resolveAccount(core, opts.account);
  if (!(await core.namespace.getAccount(account))) await core.namespace.createAccount(account);
  if (opts.container !== undefined && !(await core.namespace.getContainer(account, opts.container)))
    throw new Error(`container ${opts.container} does not exist in account ${account}`);
  return mountBackend(new LocalBackend(core.namespace, account), mountpoint, await spoolRoot(config), opts);
}

/**
 * Remote mode: an account of a Swift endpoint (swiftgate or any Swift) over HTTP. This
 * mount's own changes invalidate its cache at once, a swiftgate endpoint pushes everyone
 * else's (unless `remote.push` is false); otherwise they show within the cache TTL.
 */
export async function mountRemote(mountpoint: string, remote: RemoteOptions, opts: MountOptions = {}): Promise<RunningView> {
  const backend = await RemoteBackend.connect({ log: opts.log ?? defaultLog, ...remote });
  try {
    if (opts.container !== undefined && !(await backend.getContainer(opts.container))) throw new Error(`container ${opts.container} does not exist at ${backend.describe}`);
    return await mountBackend(backend, mountpoint, join(tmpdir(), 'swiftgate-fuse-spool'), {
      ...opts,
      lookupCacheTtlMs: opts.lookupCacheTtlMs ?? remote.cacheTtlMs ?? 1000,
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
}

async function mountBackend(store: MountBackend, mountpoint: string, spoolBase: string, opts: MountOptions): Promise<RunningView> {
  const log = opts.log ?? defaultLog;
  const { Fuse, utimensFixed } = loadFuse();
  if (!utimensFixed) log('warning: this fuse-native build reports atime as mtime to utimens; mtimes set by rsync/cp -p may be wrong');
  const mnt = resolve(mountpoint);
  await recoverStaleMount(mnt, log);
  await mkdir(mnt, { recursive: true });
  const spoolDir = await prepareSpoolDir(spoolBase);

  // Local mode hears of every change before its writer is answered, so the kernel may
  // cache names and attributes: each change elsewhere invalidates what it made wrong.
  const kernelDefault = store.mode === 'local' ? LOCAL_KERNEL_CACHE_SECONDS : 0;
  const attrTimeout = opts.attrTimeout ?? kernelDefault;
  const entryTimeout = opts.entryTimeout ?? kernelDefault;
  let kernel: KernelCache | undefined;

  const paths = new PathMap(opts.container);
  const cache = new LookupCache({ ttlMs: opts.lookupCacheTtlMs ?? 1000, maxEntries: 20_000 });
  const own = new OwnChanges();
  const tracked = new OwnChangeTracker(store, own);
  const files = new OpenFiles(tracked, paths, spoolDir);
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  // Local lookups are in-process and cheap; remote ones are a round trip each.
  const fs = new Filesystem({ store: tracked, paths, files, cache, owner, prefetchParallel: store.mode === 'remote' ? 16 : 0 });
  const ops = buildOperations(fs, files, owner, {
    utimensFixed,
    log,
    trace: process.env.SWIFTGATE_FUSE_TRACE === '1',
    answered: (path) => kernel?.answered(path),
    opened: (path) => kernel?.fileOpened(path),
    renamed: (from, to) => kernel?.renamed(from, to),
  });
  const exists = async (path: string): Promise<boolean> => (await fs.lookup(path).catch(() => undefined)) !== undefined;
  const unsubscribe = store.subscribe((changes) => {
    cache.onChanges(paths, changes);
    const foreign = kernel ? changes.filter((c) => !own.covers(c)) : [];
    return kernel && foreign.length > 0 ? kernel.onChanges(paths, foreign, exists) : undefined;
  });

  // Local mode also lets the page cache outlive a close (libfuse `kernel_cache`): the
  // invalidation below drops an opened file's pages whenever it changes elsewhere.
  const pageCache = store.mode === 'local' && opts.pageCache !== false;
  const fuseOpts = (kernelCache: boolean): FuseOptions => ({
    // fuse-native has no switch for these libfuse options; its fsname value is passed
    // through `-o` unescaped, so they ride along: big_writes (128 KiB writes, not 4 KiB),
    // atomic_o_trunc (O_TRUNC reaches open, no separate truncate to an empty object).
    fsname: `swiftgate,big_writes,atomic_o_trunc`,
    autoUnmount: true,
    kernelCache,
    // Only needed when others may enter; without it a create no longer makes the kernel
    // re-ask the directory's attributes (its permission check) for the next path walk.
    defaultPermissions: opts.allowOther === true,
    allowOther: opts.allowOther === true,
    attrTimeout: String(attrTimeout),
    entryTimeout: String(entryTimeout),
    debug: opts.debug === true,
    // Metadata answers are quick or failed; data operations may move gigabytes.
    timeout: { default: 30_000, read: 600_000, write: 600_000, flush: false, fsync: false, release: false, truncate: 600_000, ftruncate: 600_000 },
  });
  let fuse = new Fuse(mnt, ops, fuseOpts(pageCache));
  let device: number | undefined;
  try {
    device = await mountFindingDevice(fuse);
    if (device === undefined && pageCache) {
      // Nothing could drop stale pages: mount again without keeping them.
      log("warning: cannot find this mount's /dev/fuse descriptor: file contents are not cached across opens");
      await unmount(fuse, mnt, log);
      fuse = new Fuse(mnt, ops, fuseOpts(false));
      device = await mountFindingDevice(fuse);
    }
  } catch (err) {
    unsubscribe();
    throw new Error(`cannot mount ${mnt}: ${(err as Error).message}`);
  }
  const kernelTimeout = Math.max(attrTimeout, entryTimeout);
  if (device !== undefined && (kernelTimeout > 0 || pageCache)) kernel = new KernelCache(mnt, device, kernelTimeout, log);
  else if (kernelTimeout > 0) log(`warning: cannot find this mount's /dev/fuse descriptor: changes made elsewhere may show up to ${kernelTimeout} s late`);
  const what = opts.container !== undefined ? `${store.describe}/${opts.container}` : store.describe;
  let closed: Promise<void> | undefined;
  return {
    name: 'fuse',
    address: `${mnt} (${what})`,
    close() {
      closed ??= (async () => {
        unsubscribe();
        await kernel?.close();
        await files.closeAll(log);
        await unmount(fuse, mnt, log);
        await store.close();
      })();
      return closed;
    },
  };
}

/** Kernel entry/attr timeout of local mounts, seconds (invalidated on every change, see kernel-cache.ts). */
const LOCAL_KERNEL_CACHE_SECONDS = 10;

let mounting: Promise<unknown> = Promise.resolve();

/** Mounts; returns the mount's /dev/fuse descriptor (mounts of this process take turns, so it is the one new). */
function mountFindingDevice(fuse: FuseInstance): Promise<number | undefined> {
  const run = mounting.then(async () => {
    const before = fuseDeviceFds();
    await new Promise<void>((ok, fail) => fuse.mount((err) => (err ? fail(err) : ok())));
    const added = [...fuseDeviceFds()].filter((fd) => !before.has(fd));
    return added.length === 1 ? added[0] : undefined;
  });
  mounting = run.catch(() => undefined);
  return run;
}

/**
 * Which account a local mount shows: the one asked for; else the storage account of
 * the users when they all share one (a fresh gateway: admin's); else an error.
 */
export async function resolveAccount(core: Core, requested?: string): Promise<string> {
  if (requested) return requested;
  const accounts = new Set((await core.users.listUsers()).map((u) => u.storageAccount));
  const [only] = accounts;
  if (accounts.size === 1 && only) return only;
  throw new Error(
    accounts.size === 0 ? 'no users yet: pass --account AUTH_name' : `users have several accounts (${[...accounts].join(', ')}): pass --account or --user`,
  );
}

/** A mount left by a killed process answers ENOTCONN: lazily unmount it first. */
async function recoverStaleMount(mnt: string, log: (msg: string) => void): Promise<void> {
  try {
    await stat(mnt);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTCONN' && code !== 'EIO') return;
    log(`${mnt} is a stale mount (${code}); unmounting it`);
    await execFileP('fusermount', ['-uz', mnt]).catch((e: Error) => log(`fusermount -uz ${mnt}: ${e.message}`));
  }
}

async function unmount(fuse: FuseInstance, mnt: string, log: (msg: string) => void): Promise<void> {
  await new Promise<void>((ok) =>
    fuse.unmount((err) => {
      if (err) log(`unmount ${mnt}: ${err.message}`);
      ok();
    }),
  );
}

async function spoolRoot(config: Config): Promise<string> {
  const inData = join(config.dataDir, 'fuse-spool');
  try {
    await mkdir(inData, { recursive: true });
    return inData;
  } catch {
    return join(tmpdir(), 'swiftgate-fuse-spool');
  }
}
