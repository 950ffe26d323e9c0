/**
 * Runs the test gateway on a fixed port for Swift's functional tests (see run.sh).
 *
 * SWIFTGATE_CONFORMANCE_WORKERS=1: the gateway in this process (startHarness).
 * N > 1: the real default deployment, `swiftgate serve --workers N` (a primary owning
 * the metadata, N HTTP workers reaching it over its socket), over a fresh data dir
 * whose users are added beforehand, as `swiftgate user add` would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openCoreForCommand } from '../../src/core.ts';
import { TEST_USERS, startHarness } from '../http/harness.ts';

const port = Number(process.env.SWIFTGATE_PORT ?? 8089);
const workers = Number(process.env.SWIFTGATE_CONFORMANCE_WORKERS ?? 1);

async function single(): Promise<void> {
  const h = await startHarness({ port });
  process.stdout.write(`swiftgate conformance gateway on ${h.url} (single process, data ${h.dataDir})\n`);
  const stop = async (): Promise<void> => {
    await h.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthcheck`)).status === 200;
  } catch {
    return false;
  }
}

async function clustered(n: number): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'swiftgate-conformance-'));
  const config = loadConfig(); // SWIFTGATE_* (e.g. PostgreSQL + S3) reach the server too
  config.dataDir = dataDir;
  const core = await openCoreForCommand(config);
  try {
    for (const u of TEST_USERS) {
      await core.users.addUser({
        account: u.account,
        user: u.user,
        key: u.key,
        replace: true,
        ...(u.admin ? { admin: true } : {}),
        ...(u.resellerAdmin ? { resellerAdmin: true } : {}),
        ...(u.groups ? { groups: u.groups } : {}),
      });
    }
  } finally {
    await core.close();
  }

  const bin = resolve(import.meta.dirname, '../../bin/swiftgate.js');
  const args = [bin, 'serve', '--data', dataDir, '--http', `127.0.0.1:${port}`, '--workers', String(n)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(signal ?? code ?? 0)));
  let stopping = false;
  void exited.then(async (how) => {
    if (stopping) return;
    process.stderr.write(`swiftgate serve exited (${how})\n`);
    await rm(dataDir, { recursive: true, force: true });
    process.exit(1);
  });
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await healthy(url))) {
    if (Date.now() > deadline) {
      process.stderr.write('swiftgate serve did not answer within 60 s\n');
      await stop();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(`swiftgate conformance gateway on ${url} (${n} HTTP workers, data ${dataDir})\n`);
}

if (Number.isInteger(workers) && workers > 1) await clustered(workers);
else await single();
