/**
 * Pushed invalidation of remote mounts (interfaces/fuse/remote/push.ts over the gateway's
 * `?changes` stream): with a 60 s cache TTL, changes made over HTTP must show in the
 * mount within a couple of seconds; a cut stream reconnects and its reset flushes what
 * was missed meanwhile; `--no-push` mounts wait for the TTL; endpoints that refuse or do
 * not speak the stream leave the mount on TTL only. A real gateway in this process, a
 * real TCP proxy in front of it (to cut connections), and `swiftgate mount --remote` as
 * a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwiftClient } from '../../interfaces/fuse/remote/client.ts';
import { PushInvalidation } from '../../interfaces/fuse/remote/push.ts';
import { defaultConfig } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/server.ts';
import { fuseSkipReason, q, sh } from './helpers.ts';

const skip = fuseSkipReason();
if (skip) console.warn(`FUSE tests skipped: ${skip}`);

const REPO = resolve(import.meta.dirname, '../..');
const ACCOUNT = 'AUTH_push';
const USER = 'push:tester';
const KEY = 'testing';
const TTL_S = 60;
/** Far below the TTL: only a pushed invalidation can make a change show this fast. */
const DEADLINE_MS = 2000;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** A TCP proxy that can cut every connection and hold new ones back. */
class CuttableProxy {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private held: Socket[] = [];
  private holding = false;

  constructor(private readonly port: number) {
    this.server = createServer((client) => {
      client.pause();
      this.track(client);
      if (this.holding) this.held.push(client);
      else this.pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    return addr.port;
  }

  /** Destroys every open connection, both sides. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const c of this.held) if (!c.destroyed) this.pipe(c);
    this.held = [];
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private pipe(client: Socket): void {
    const up = connect(this.port, '127.0.0.1');
    this.track(up);
    up.on('close', () => client.destroy());
    client.on('close', () => up.destroy());
    client.pipe(up);
    up.pipe(client);
    client.resume();
  }
}

interface Mount {
  mnt: string;
  log(): string;
  close(): Promise<void>;
}

async function mountRemote(url: string, mnt: string, extra: string[] = []): Promise<Mount> {
  await sh(`mkdir -p ${q(mnt)}`);
  const args = ['bin/swiftgate.js', 'mount', mnt, '--remote', url, '--user', USER, '--key', KEY, '--cache-ttl', String(TTL_S), ...extra];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await sh(`fusermount -uz ${q(mnt)} 2>/dev/null || true`);
  };
  try {
    await new Promise<void>((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`mount did not start in 30 s\n${stderr}`)), 30_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('swiftgate fuse on')) {
          clearTimeout(timer);
          ok();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`mount exited (${code})\n${stderr}`));
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { mnt, log: () => stderr, close };
}

/** What a path is in the mount: its size, or -1 when absent. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw err;
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/** Polls until `check` holds; returns how long it took, fails after `ms`. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > ms) throw new Error(`${what}: not seen within ${ms} ms`);
    await sleep(2);
  }
}

async function until(ms: number, what: string, check: () => boolean): Promise<void> {
  await within(ms, what, async () => check());
}

describe.skipIf(skip !== undefined)('remote mount with pushed invalidation (cache TTL 60 s)', () => {
  let base: string;
  let gw: Gateway;
  let proxy: CuttableProxy;
  let m: Mount;
  let storageUrl: string;
  let token: string;

  const api = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${storageUrl}${path}`, { method, headers: { 'x-auth-token': token, ...headers }, ...(body !== undefined ? { body } : {}) });
  const put = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const r = await api('PUT', path, { 'content-type': 'text/plain', ...headers }, body);
    expect(r.status).toBe(201);
  };

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'sg-fuse-push-'));
    const config = defaultConfig();
    config.dataDir = join(base, 'data');
    config.http.host = '127.0.0.1';
    config.http.port = 0;
    config.http.workers = 1;
    gw = await startGateway(config, { quiet: true });
    await gw.core.users.addUser({ account: 'push', user: 'tester', key: KEY, admin: true });
    await gw.core.users.addUser({ account: 'push', user: 'nobody', key: KEY });
    await gw.core.namespace.createAccount(ACCOUNT).catch(() => undefined);
    await gw.core.namespace.createContainer(ACCOUNT, 'files');
    const url = gw.httpUrl ?? '';
    proxy = new CuttableProxy(Number(new URL(url).port));
    const proxyPort = await proxy.listen();
    // The API client talks to the gateway directly; the mount goes through the proxy.
    const auth = await fetch(`${url}/auth/v1.0`, { headers: { 'x-auth-user': USER, 'x-auth-key': KEY } });
    token = auth.headers.get('x-auth-token') ?? '';
    storageUrl = auth.headers.get('x-storage-url') ?? '';
    m = await mountRemote(`http://127.0.0.1:${proxyPort}`, join(base, 'mnt'));
    await until(10_000, 'change stream connected', () => m.log().includes('change stream connected'));
  });
  afterAll(async () => {
    await m?.close();
    await proxy?.close();
    await gw?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const f = (name: string) => join(m.mnt, 'files', name);

  it('sees creates, overwrites, deletes, directories and renames made over HTTP at once', async () => {
    // Each path is looked at first, so the mount holds a 60 s entry for it.
    expect(await sizeOf(f('new.txt'))).toBe(-1);
    await put('/files/new.txt', 'hello');
    await within(DEADLINE_MS, 'create', async () => (await sizeOf(f('new.txt'))) === 5);

    await put('/files/new.txt', 'hello, longer');
    await within(DEADLINE_MS, 'overwrite', async () => (await sizeOf(f('new.txt'))) === 13);

    expect((await api('DELETE', '/files/new.txt')).status).toBe(204);
    await within(DEADLINE_MS, 'delete', async () => (await sizeOf(f('new.txt'))) === -1);

    expect(await isDir(f('made'))).toBe(false);
    await put('/files/made/', '', { 'content-type': 'application/directory' });
    await within(DEADLINE_MS, 'mkdir marker', () => isDir(f('made')));

    await put('/files/from.txt', 'moving');
    await within(DEADLINE_MS, 'rename source', async () => (await sizeOf(f('from.txt'))) === 6);
    expect(await sizeOf(f('to.txt'))).toBe(-1);
    expect((await api('PUT', '/files/to.txt', { 'x-copy-from': '/files/from.txt', 'content-length': '0' })).status).toBe(201);
    expect((await api('DELETE', '/files/from.txt')).status).toBe(204);
    await within(DEADLINE_MS, 'rename (copy + delete)', async () => (await sizeOf(f('to.txt'))) === 6 && (await sizeOf(f('from.txt'))) === -1);

    // An implicit directory appears with its first object and goes with its last.
    expect(await isDir(f('deep'))).toBe(false);
    await put('/files/deep/er/x.txt', 'x');
    await within(DEADLINE_MS, 'implicit directory', () => isDir(f('deep/er')));
    expect((await api('DELETE', '/files/deep/er/x.txt')).status).toBe(204);
    await within(DEADLINE_MS, 'implicit directory gone', async () => !(await isDir(f('deep'))));

    // Containers are top-level directories of an account mount.
    expect(await isDir(join(m.mnt, 'later'))).toBe(false);
    expect((await api('PUT', '/later')).status).toBe(201);
    await within(DEADLINE_MS, 'container create', () => isDir(join(m.mnt, 'later')));
    expect((await api('DELETE', '/later')).status).toBe(204);
    await within(DEADLINE_MS, 'container delete', async () => !(await isDir(join(m.mnt, 'later'))));
  });

  it('measures the staleness of 50 overwrites (write acknowledged → seen in the mount)', async () => {
    const times: number[] = [];
    expect(await sizeOf(f('m.txt'))).toBe(-1);
    for (let i = 1; i <= 50; i++) {
      await put('/files/m.txt', 'x'.repeat(i));
      times.push(await within(DEADLINE_MS, `overwrite ${i}`, async () => (await sizeOf(f('m.txt'))) === i));
    }
    times.sort((a, b) => a - b);
    const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))] ?? Number.NaN;
    console.log(`push staleness over ${times.length} overwrites: median ${pct(0.5).toFixed(1)} ms, p90 ${pct(0.9).toFixed(1)} ms, max ${pct(1).toFixed(1)} ms`);
    expect(pct(0.5)).toBeLessThan(500);
  });

  it('reconnects when the stream is cut, and the reset flushes what was missed meanwhile', async () => {
    await put('/files/re.txt', 'old');
    await within(DEADLINE_MS, 'seed', async () => (await sizeOf(f('re.txt'))) === 3);
    expect(await sizeOf(f('missed.txt'))).toBe(-1);
    const logBefore = m.log().length;

    // Cut every connection of the mount and hold its reconnect back: the changes below
    // are published while it has no stream, so their events are lost to it.
    proxy.hold();
    proxy.cut();
    await put('/files/re.txt', 'new and longer');
    await put('/files/missed.txt', 'was missed');
    // Still the cached (60 s) answers: nothing reached the mount. (Cached, so no request
    // is made that the proxy would hold.)
    await sleep(300);
    expect(await sizeOf(f('re.txt'))).toBe(3);
    expect(await sizeOf(f('missed.txt'))).toBe(-1);

    proxy.release();
    // First retry after ~250 ms; its reset line drops every cached entry.
    await within(5000, 'reset after reconnect', async () => (await sizeOf(f('re.txt'))) === 14 && (await sizeOf(f('missed.txt'))) === 10);
    const log = m.log().slice(logBefore);
    expect(log).toContain('change stream lost');
    expect(log).toContain('change stream back');

    // Live again: a new change is pushed.
    await put('/files/after.txt', 'a');
    await within(DEADLINE_MS, 'push after reconnect', async () => (await sizeOf(f('after.txt'))) === 1);
  });

  it('--no-push keeps a mount on TTL expiry only', async () => {
    const plain = await mountRemote(gw.httpUrl ?? '', join(base, 'mnt-nopush'), ['--no-push']);
    try {
      const p = join(plain.mnt, 'files', 'nopush.txt');
      expect(await sizeOf(p)).toBe(-1);
      await put('/files/nopush.txt', 'x');
      // The pushed mount sees it; the other keeps its cached "absent" for the TTL.
      await within(DEADLINE_MS, 'pushed mount', async () => (await sizeOf(f('nopush.txt'))) === 1);
      await sleep(500);
      expect(await sizeOf(p)).toBe(-1);
      expect(plain.log()).not.toContain('change stream');
    } finally {
      await plain.close();
    }
  });

  it('stays on TTL only, logging once, when the endpoint refuses or has no change stream', async () => {
    const cases = [
      // A user who may not read the whole account: 403.
      { user: 'push:nobody', storage: storageUrl, expect: /answered 403/ },
      // What plain Swift does with an unknown parameter: a listing (here a container's).
      { user: USER, storage: `${storageUrl}/files`, expect: /not a swiftgate change stream/ },
    ];
    for (const c of cases) {
      const auth = await fetch(`${gw.httpUrl}/auth/v1.0`, { headers: { 'x-auth-user': c.user, 'x-auth-key': KEY } });
      const client = new SwiftClient({ auth: { kind: 'token', token: auth.headers.get('x-auth-token') ?? '', storageUrl: c.storage } });
      const logs: string[] = [];
      const push = new PushInvalidation({ client, timeoutMs: 5000, log: (msg) => logs.push(msg), onChanges: () => undefined });
      try {
        push.start();
        await until(5000, 'gave up', () => push.state === 'unsupported');
        await sleep(300);
        expect(logs).toHaveLength(1);
        expect(logs[0]).toMatch(c.expect);
        expect(push.connections).toBe(0);
      } finally {
        push.close();
        client.close();
      }
    }
  });
});
