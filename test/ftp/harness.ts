/**
 * A gateway core with FTP on random ports over a fresh temp data dir, plus the users
 * the FTP tests need, and helpers to run real clients (lftp, curl) against it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type Config } from '../../src/config.ts';
import { type Core, openCore } from '../../src/core.ts';
import type { RunningView } from '../../src/server.ts';
import { startFtp } from '../../interfaces/ftp/index.ts';

export const ACCOUNT = 'acme';
export const ADMIN = { name: 'acme:admin', key: 'admin-key-123' };
export const READER = { name: 'acme:reader', key: 'reader-key-123' };
export const OTHER = { name: 'other:bob', key: 'bob-key-123' };

export interface FtpFixture {
  dir: string;
  core: Core;
  ftp: RunningView;
  port: number;
  pasv: { min: number; max: number };
  certDir?: string;
  close(): Promise<void>;
}

/** A free TCP port block [start, start+count) on 127.0.0.1, probed by binding. */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = await portFree(p);
    if (ok) return start;
  }
  throw new Error('no free port block');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('openssl failed');
  return { cert, key };
}

export async function startFixture(opts: { tls?: boolean; tweak?: (c: Config) => void } = {}): Promise<FtpFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-ftp-'));
  const config = defaultConfig();
  config.dataDir = dir;
  config.http.enabled = false;
  const block = await freePortBlock(21);
  config.ftp = { ...config.ftp, enabled: true, host: '127.0.0.1', port: block, pasvPortMin: block + 1, pasvPortMax: block + 20 };
  if (opts.tls) {
    const { cert, key } = makeCert(dir);
    config.ftp.tlsCert = cert;
    config.ftp.tlsKey = key;
  }
  opts.tweak?.(config);
  const core = await openCore(config, 'owner');
  await core.users.addUser({ account: ACCOUNT, user: 'admin', key: ADMIN.key, admin: true });
  await core.users.addUser({ account: ACCOUNT, user: 'reader', key: READER.key });
  await core.users.addUser({ account: 'other', user: 'bob', key: OTHER.key, admin: true });
  const ftp = await startFtp(core, config);
  const port = Number(new URL(ftp.address).port);
  return {
    dir,
    core,
    ftp,
    port,
    pasv: { min: config.ftp.pasvPortMin, max: config.ftp.pasvPortMax },
    async close() {
      await ftp.close();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client bounded in time; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** lftp with a fixed preamble: fail on errors, no retries, TLS as asked. */
export function lftp(port: number, user: { name: string; key: string }, script: string, tls = false): Promise<RunResult> {
  const pre = [
    'set cmd:fail-exit yes',
    'set net:max-retries 1',
    'set net:timeout 20',
    'set xfer:clobber on',
    tls ? 'set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no' : 'set ftp:ssl-allow no',
    `open -u '${user.name}','${user.key}' ftp://127.0.0.1:${port}`,
  ].join('; ');
  return run('lftp', ['-c', `${pre}; ${script}`]);
}

/** curl against the FTP view; `user@account` form because curl splits -u at the first ':'. */
export function curl(port: number, user: { name: string; key: string }, path: string, args: string[], tls = false): Promise<RunResult> {
  const [account, name] = user.name.split(':');
  const tlsArgs = tls ? ['--ssl-reqd', '-k'] : [];
  return run('curl', ['-sS', '--max-time', '60', ...tlsArgs, '-u', `${name}@${account}:${user.key}`, ...args, `ftp://127.0.0.1:${port}${path}`]);
}
