/**
 * A real remote-mode mount for tests: a swiftgate gateway with HTTP in this process
 * (fresh temp data dir, one user), and `swiftgate mount --remote` as a child process —
 * the FUSE callbacks and the HTTP server would otherwise share one event loop, where a
 * blocking syscall on the mount could deadlock them. Always unmounted, even on failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultConfig } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/server.ts';
import { q, sh } from './helpers.ts';

export const R_ACCOUNT = 'AUTH_fuse';
export const R_CONTAINER = 'files';
export const R_USER = 'fuse:tester';
export const R_KEY = 'testing';

const REPO = resolve(import.meta.dirname, '../..');

export interface RemoteMounted {
  gw: Gateway;
  url: string;
  mnt: string;
  /** The container's directory inside the mount. */
  root: string;
  scratch: string;
  /** What the mount process wrote to stderr so far. */
  log(): string;
  close(): Promise<void>;
}

export async function mountRemoteForTest(opts: { cacheTtl?: number; readAhead?: number } = {}): Promise<RemoteMounted> {
  const base = await mkdtemp(join(tmpdir(), 'sg-fuse-remote-'));
  const mnt = join(base, 'mnt');
  const scratch = join(base, 'scratch');
  const config = defaultConfig();
  config.dataDir = join(base, 'data');
  config.http.host = '127.0.0.1';
  config.http.port = 0;
  config.http.workers = 1;
  const gw = await startGateway(config, { quiet: true });
  let child: ChildProcess | undefined;
  let stderr = '';
  const close = async () => {
    const c = child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((ok) => c.once('exit', () => ok()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await sh(`fusermount -uz ${q(mnt)} 2>/dev/null || true`).catch(() => undefined);
    await gw.close().catch(() => undefined);
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    const url = gw.httpUrl;
    if (!url) throw new Error('gateway has no HTTP URL');
    await gw.core.users.addUser({ account: 'fuse', user: 'tester', key: R_KEY, admin: true });
    await gw.core.namespace.createAccount(R_ACCOUNT).catch(() => undefined);
    await gw.core.namespace.createContainer(R_ACCOUNT, R_CONTAINER);
    await gw.core.namespace.createContainer(R_ACCOUNT, 'other');
    await sh(`mkdir -p ${q(scratch)} ${q(mnt)}`);
    const args = ['bin/swiftgate.js', 'mount', mnt, '--remote', url, '--user', R_USER, '--key', R_KEY, '--cache-ttl', String(opts.cacheTtl ?? 1)];
    if (opts.readAhead !== undefined) args.push('--read-ahead', String(opts.readAhead));
    const c = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`mount did not start in 30 s\n${stderr}`)), 30_000);
      c.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('swiftgate fuse on')) {
          clearTimeout(timer);
          ok();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`mount exited (${code})\n${stderr}`));
      });
    });
    return { gw, url, mnt, root: join(mnt, R_CONTAINER), scratch, log: () => stderr, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A token for direct API calls (as another client would make them). */
export async function apiToken(url: string): Promise<{ token: string; storageUrl: string }> {
  const res = await fetch(`${url}/auth/v1.0`, { headers: { 'x-auth-user': R_USER, 'x-auth-key': R_KEY } });
  const token = res.headers.get('x-auth-token');
  const storageUrl = res.headers.get('x-storage-url');
  if (!token || !storageUrl) throw new Error(`auth failed: ${res.status}`);
  return { token, storageUrl };
}
