/**
 * The shared configuration as real processes, for tests, scripts and benchmarks: one
 * throwaway PostgreSQL and one S3 server (Swift's s3api), and gateway *processes*
 * (`node bin/swiftgate.js serve --config FILE`) pointing at both.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type PgServer, startPgServer } from './pg-server.ts';
import { freePort } from './ports.ts';
import { type SwiftS3, startSwiftS3 } from './swift-s3.ts';

const run = promisify(execFile);
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'swiftgate.js');

export interface SharedBackends {
  pg: PgServer;
  s3: SwiftS3;
  bucket: string;
  /** A temp dir for config files and gateways' (unused but required) data dirs. */
  dir: string;
  stop(): Promise<void>;
}

export async function startSharedBackends(opts: { bucket?: string } = {}): Promise<SharedBackends> {
  const [pg, s3] = await Promise.all([startPgServer(), startSwiftS3()]);
  const dir = mkdtempSync(join(tmpdir(), 'swiftgate-cluster-'));
  return {
    pg,
    s3,
    bucket: opts.bucket ?? 'swiftgate',
    dir,
    async stop() {
      await Promise.all([pg.stop(), s3.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Environment variables that put a gateway (or the HTTP test harness) on the shared backends. */
export function sharedEnv(b: SharedBackends): Record<string, string> {
  return {
    SWIFTGATE_POSTGRES_URL: b.pg.connectionString,
    SWIFTGATE_S3_ENDPOINT: b.s3.endpoint,
    SWIFTGATE_S3_BUCKET: b.bucket,
    SWIFTGATE_S3_REGION: b.s3.region,
    SWIFTGATE_S3_ACCESS_KEY_ID: b.s3.accessKeyId,
    SWIFTGATE_S3_SECRET_ACCESS_KEY: b.s3.secretAccessKey,
  };
}

export interface GatewayConfigOptions {
  name: string;
  port: number;
  cache?: boolean;
  /** Where bytes go (default the shared S3 bucket; "local": this gateway's own data dir). */
  blobs?: 's3' | 'local';
}

/** Writes a TOML config for one gateway on the shared backends; returns its path. */
export function writeGatewayConfig(b: SharedBackends, o: GatewayConfigOptions): string {
  const path = join(b.dir, `${o.name}.toml`);
  writeFileSync(
    path,
    [
      `data_dir = ${JSON.stringify(join(b.dir, `data-${o.name}`))}`,
      '[http]',
      `listen = "127.0.0.1:${o.port}"`,
      'workers = 1',
      '[metadata]',
      'backend = "postgres"',
      `postgres_url = ${JSON.stringify(b.pg.connectionString)}`,
      '[blobs]',
      ...(o.blobs === 'local'
        ? ['backend = "local"']
        : [
            'backend = "s3"',
            '[blobs.s3]',
            `bucket = ${JSON.stringify(b.bucket)}`,
            `endpoint = ${JSON.stringify(b.s3.endpoint)}`,
            `region = ${JSON.stringify(b.s3.region)}`,
            `access_key_id = ${JSON.stringify(b.s3.accessKeyId)}`,
            `secret_access_key = ${JSON.stringify(b.s3.secretAccessKey)}`,
            'create_bucket = true',
          ]),
      '[cache]',
      `enabled = ${o.cache !== false}`,
      '',
    ].join('\n'),
  );
  return path;
}

export interface GatewayProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  logs(): string;
  /** SIGTERM and wait (bounded); SIGKILL if it does not stop. */
  stop(): Promise<void>;
}

/** Starts `swiftgate serve --config path` and waits (bounded) for it to listen. */
export async function spawnGateway(name: string, configPath: string, port: number, timeoutMs = 30_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWIFTGATE_DEBUG: '1' },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  void exited.then(() => process.off('exit', killOnExit));
  const deadline = Date.now() + timeoutMs;
  while (!/swiftgate http on/.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway ${name} exited:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway ${name} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs a swiftgate CLI command to completion. */
export async function swiftgateCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { cwd: REPO, env, timeout: 60_000 });
}

/** Starts `n` gateway processes on the shared backends, after creating test:tester/testing. */
export async function startGateways(b: SharedBackends, n: number, opts: { cache?: boolean } = {}): Promise<GatewayProcess[]> {
  const configs: Array<{ name: string; path: string; port: number }> = [];
  for (let i = 0; i < n; i++) {
    const name = String.fromCharCode(97 + i);
    const port = await freePort();
    configs.push({ name, port, path: writeGatewayConfig(b, { name, port, ...(opts.cache !== undefined ? { cache: opts.cache } : {}) }) });
  }
  const first = configs[0];
  if (!first) return [];
  await swiftgateCli(['user', 'add', 'test:tester', '--key', 'testing', '--admin', '--replace', '--config', first.path]);
  return Promise.all(configs.map((c) => spawnGateway(c.name, c.path, c.port)));
}

export async function login(url: string, user = 'test:tester', key = 'testing'): Promise<{ token: string; storageUrl: string }> {
  const res = await fetch(`${url}/auth/v1.0`, { headers: { 'X-Auth-User': user, 'X-Auth-Key': key } });
  if (res.status !== 200) throw new Error(`login ${user} at ${url}: ${res.status}`);
  return { token: res.headers.get('x-auth-token') ?? '', storageUrl: res.headers.get('x-storage-url') ?? '' };
}

export interface Nginx {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** deploy/nginx.conf with the upstreams and port replaced, for Debian's nginx on loopback. */
export function nginxConfig(template: string, upstreamPorts: readonly number[], port: number, dir: string): string {
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=10s;`).join('\n');
  const out = template
    .replace(/(upstream swiftgate \{\n)(?:\s*server [^\n]+\n)+/, `$1${servers}\n`)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`)
    .replace(
      /^http \{\n/m,
      `http {\n  access_log off;\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};\n`).join('')}`,
    );
  if (!out.includes(`127.0.0.1:${upstreamPorts[0]}`) || !out.includes(`listen 127.0.0.1:${port}`)) throw new Error('deploy/nginx.conf: unexpected layout');
  return out;
}

/** Debian's nginx in front of `upstreamPorts`, running deploy/nginx.conf (rewritten for loopback). */
export async function startNginx(upstreamPorts: readonly number[], timeoutMs = 10_000): Promise<Nginx> {
  const { readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'swiftgate-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(readFileSync(join(REPO, 'deploy', 'nginx.conf'), 'utf8'), upstreamPorts, port, dir));
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', `daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')};`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${out}`);
    const ok = await fetch(`${url}/healthcheck`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null) {
        child.kill('SIGQUIT'); // graceful: finish requests in flight
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
