/**
 * A real local-mode mount for tests: a core on a temp data dir, one account with one
 * container, mounted at a temp dir. Commands run through child processes that are
 * awaited asynchronously: the FUSE server lives in this process's event loop, so any
 * synchronous call into the mount would deadlock.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MountOptions, mountLocal } from '../../interfaces/fuse/index.ts';
import { defaultConfig } from '../../src/config.ts';
import { type Core, openCore } from '../../src/core.ts';
import type { RunningView } from '../../src/server.ts';

export const ACCOUNT = 'AUTH_fuse';
export const CONTAINER = 'files';

/** Why FUSE tests cannot run here, or undefined when they can. */
export function fuseSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'FUSE tests need Linux';
  if (!existsSync('/dev/fuse')) return '/dev/fuse is absent on this machine';
  return undefined;
}

export interface Mounted {
  core: Core;
  dataDir: string;
  mnt: string;
  /** The container's directory inside the mount. */
  root: string;
  /** A scratch directory outside the mount. */
  scratch: string;
  view: RunningView;
  close(): Promise<void>;
}

export async function mountForTest(opts: MountOptions = {}): Promise<Mounted> {
  const base = await mkdtemp(join(tmpdir(), 'sg-fuse-test-'));
  const dataDir = join(base, 'data');
  const mnt = join(base, 'mnt');
  const scratch = join(base, 'scratch');
  const config = { ...defaultConfig(), dataDir };
  const core = await openCore(config, 'owner');
  await core.namespace.createAccount(ACCOUNT);
  await core.namespace.createContainer(ACCOUNT, CONTAINER);
  await core.namespace.createContainer(ACCOUNT, 'other');
  let view: RunningView;
  try {
    // SWIFTGATE_FUSE_TEST_LOG=FILE keeps the mount's log (with SWIFTGATE_FUSE_TRACE=1: every op).
    const logFile = process.env.SWIFTGATE_FUSE_TEST_LOG;
    const log = logFile ? (msg: string) => appendFileSync(logFile, `${msg}\n`) : () => undefined;
    view = await mountLocal(core, mnt, config, { account: ACCOUNT, log, ...opts });
  } catch (err) {
    await core.close();
    throw err;
  }
  await sh(`mkdir -p ${q(scratch)}`);
  return {
    core,
    dataDir,
    mnt,
    root: join(mnt, CONTAINER),
    scratch,
    view,
    async close() {
      await view.close().catch(() => undefined);
      // Whatever happened above, never leave a mount behind.
      await sh(`fusermount -uz ${q(mnt)} 2>/dev/null || true`).catch(() => undefined);
      await core.close().catch(() => undefined);
      await rm(base, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash command line (async), never throws: look at `code`. */
export function sh(cmd: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ShResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', cmd],
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

/** Like sh, but fails the test with the output when the command fails. */
export async function ok(cmd: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(cmd, opts);
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Shell-quotes one argument. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A small tree for the tool tests: nesting, an empty dir, a symlink, odd names and modes. */
export async function makeToolTree(tree: string): Promise<void> {
  await ok(
    [
      `mkdir -p ${q(tree)}/a/b/c ${q(tree)}/empty ${q(tree)}/'sp ace'`,
      `cd ${q(tree)}`,
      'for i in $(seq 1 30); do head -c $((i * 997)) /dev/urandom > a/f$i.bin; done',
      'echo deep > a/b/c/deep.txt',
      "echo 'x' > 'sp ace/é.txt'",
      'head -c 300000 /dev/urandom > big.bin',
      'ln -s a/b/c/deep.txt link',
      'chmod 600 a/f1.bin && chmod 755 a/f2.bin',
      "touch -d '2001-02-03 04:05:06' a/b/c/deep.txt",
      // rsync sets a symlink's time only when the seconds differ: a link made in the
      // same second as its copy would otherwise keep the copy's creation time.
      "touch -h -d '2002-03-04 05:06:07.5' link",
    ].join(' && '),
  );
}
