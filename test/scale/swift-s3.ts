/**
 * A real S3-compatible server for tests and benchmarks: OpenStack Swift's all-in-one
 * with s3api (../shared/reference/swift-aio), on free ports and in its own state and
 * data dirs, so it never clashes with another instance on the machine. The first start
 * may install Debian packages (needs root and a minute or two).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePorts } from './ports.ts';

const run = promisify(execFile);

export interface SwiftS3 {
  /** http://127.0.0.1:<port> (path-style s3api). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  port: number;
  stateDir: string;
  stop(): Promise<void>;
}

export interface SwiftS3Options {
  /** Covers a first-time package install (default 300 s). */
  startTimeoutMs?: number;
  proxyWorkers?: number;
}

/** Where the shared swift-aio scripts are (override with SWIFT_AIO_SCRIPTS). */
export function swiftAioScripts(): string {
  return process.env.SWIFT_AIO_SCRIPTS ?? fileURLToPath(new URL('../../../shared/reference/swift-aio/', import.meta.url));
}

const TMPFS_MAGIC = 0x01021994;

export async function startSwiftS3(options: SwiftS3Options = {}): Promise<SwiftS3> {
  const scripts = swiftAioScripts();
  if (!existsSync(join(scripts, 'start.sh'))) throw new Error(`swift-aio scripts not found in ${scripts}`);
  const stateDir = mkdtempSync(join(tmpdir(), 'swiftgate-s3-'));
  // Swift keeps metadata in xattrs, which tmpfs holds without ext4's 4 KiB limit.
  const onTmpfs = existsSync('/dev/shm') && statfsSync('/dev/shm').type === TMPFS_MAGIC;
  const dataDir = onTmpfs ? mkdtempSync('/dev/shm/swiftgate-s3-data-') : join(stateDir, 'data');
  const [proxy, object, container, account, memcache] = (await freePorts(5)) as [number, number, number, number, number];
  const env = {
    ...process.env,
    SWIFT_AIO_DIR: stateDir,
    SWIFT_DATA_DIR: dataDir,
    SWIFT_PROXY_PORT: String(proxy),
    SWIFT_OBJECT_PORT: String(object),
    SWIFT_CONTAINER_PORT: String(container),
    SWIFT_ACCOUNT_PORT: String(account),
    SWIFT_MEMCACHE_PORT: String(memcache),
    SWIFT_PROXY_WORKERS: String(options.proxyWorkers ?? 1),
    SWIFT_UPDATERS: '0',
    SWIFT_PROXY_LOG: '0',
  };
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync('bash', [join(scripts, 'stop.sh')], { env: { ...env, SWIFT_AIO_WIPE: '1' }, stdio: 'ignore', timeout: 30_000 });
    } catch {
      // best effort on the way out
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  // A crashed test run must not leave six daemons behind.
  process.on('exit', stopSync);
  const stop = async (): Promise<void> => {
    process.off('exit', stopSync);
    if (stopped) return;
    stopped = true;
    await run('bash', [join(scripts, 'stop.sh')], { env: { ...env, SWIFT_AIO_WIPE: '1' }, timeout: 60_000 }).catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await run('bash', [join(scripts, 'start.sh')], { env, timeout: options.startTimeoutMs ?? 300_000, maxBuffer: 16 << 20 });
  } catch (err) {
    await stop();
    const e = err as { stderr?: string; message?: string };
    throw new Error(`swift-aio did not start: ${e.stderr?.trim() || e.message}`);
  }
  return {
    endpoint: `http://127.0.0.1:${proxy}`,
    region: 'us-east-1',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    port: proxy,
    stateDir,
    stop,
  };
}
