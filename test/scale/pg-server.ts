/**
 * A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temp dir,
 * `postgres` on a free port (TCP on 127.0.0.1, socket in the temp dir), one database,
 * and `pg_ctl stop -m fast` + removal afterwards. Uses Debian's binaries; as root the
 * server runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export interface PgServerOptions {
  /** fsync and synchronous_commit (default false: tests measure logic, not the disk). */
  durable?: boolean;
  maxConnections?: number;
  /** Database to create (default "swiftgate"). */
  database?: string;
  startTimeoutMs?: number;
}

export interface PgServer {
  host: string;
  port: number;
  database: string;
  user: string;
  /** postgres://postgres@127.0.0.1:port/database */
  connectionString: string;
  dataDir: string;
  /** Runs `pg_ctl stop -m fast` and removes the cluster. */
  stop(): Promise<void>;
}

export function findPgBin(): string {
  const env = process.env.PG_BIN;
  if (env) return env;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'postgres'))) return join(base, v, 'bin');
  throw new Error('no PostgreSQL server binaries found (set PG_BIN or install postgresql)');
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** argv that runs `cmd` as the postgres user when we are root. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = findPgBin();
  const dir = mkdtempSync(join(tmpdir(), 'swiftgate-pg-'));
  const dataDir = join(dir, 'data');
  if (isRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const database = options.database ?? 'swiftgate';
  const port = await freePort();
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child && child.exitCode === null) {
      const [cmd, args] = asPostgres(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
      await run(cmd, args).catch(() => child?.kill('SIGKILL'));
      if (child.exitCode === null) await new Promise((r) => child?.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed test run must not leave a server behind.
  const killOnExit = (): void => {
    child?.kill('SIGQUIT');
  };
  try {
    const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await run(initCmd, initArgs);
    const durable = options.durable === true;
    const [cmd, args] = asPostgres(join(bin, 'postgres'), [
      '-D', dataDir,
      '-p', String(port),
      '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `max_connections=${options.maxConnections ?? 200}`,
      '-c', `fsync=${durable ? 'on' : 'off'}`,
      '-c', `synchronous_commit=${durable ? 'on' : 'off'}`,
      '-c', `full_page_writes=${durable ? 'on' : 'off'}`,
      '-c', 'shared_buffers=128MB',
    ]);
    const logs: string[] = [];
    child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      logs.push(b.toString());
      if (logs.length > 50) logs.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    process.on('exit', killOnExit);

    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${logs.join('')}`);
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query(`CREATE DATABASE ${database}`);
        await c.end();
        break;
      } catch (err) {
        await c.end().catch(() => {});
        if (Date.now() > deadline) throw new Error(`postgres did not become ready: ${String(err)}\n${logs.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    database,
    user: 'postgres',
    connectionString: `postgres://postgres@127.0.0.1:${port}/${database}`,
    dataDir,
    stop,
  };
}
