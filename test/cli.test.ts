/**
 * The CLI as an operator uses it: commands while the server runs (they reach the store
 * through the server's metadata host), --help on every command, and fsck's verdicts on
 * a store damaged behind the gateway's back.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/cli/commands/index.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'swiftgate.js');
const exec = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec('node', [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never came up`);
}

describe('swiftgate CLI', () => {
  let data: string;
  let server: ChildProcess | undefined;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const base = `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'sg-cli-'));
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await rm(data, { recursive: true, force: true });
  });

  it('answers --help for every command', async () => {
    for (const c of commands) {
      const r = await cli(...c.name.split(' '), '--help');
      expect(r.code, c.name).toBe(0);
      expect(r.stdout).toContain('Usage: swiftgate');
    }
    expect((await cli('no-such-command')).code).toBe(2);
  });

  it('manages users and domains while a cluster server runs, and fsck sees it clean', async () => {
    server = spawn('node', [BIN, 'serve', '--data', data, '--http', `127.0.0.1:${port}`, '--workers', '2'], { stdio: 'pipe' });
    let out = '';
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(`${base}/healthcheck`);
    expect(out).toContain('created the administrator');

    expect((await cli('user', 'add', 'shop:alice', '--key', 's3cret', '--admin', '--data', data)).code).toBe(0);
    expect((await cli('user', 'list', '--data', data)).stdout).toContain('shop:alice');
    const auth = await fetch(`${base}/auth/v1.0`, { headers: { 'X-Auth-User': 'shop:alice', 'X-Auth-Key': 's3cret' } });
    expect(auth.status).toBe(200);
    const token = auth.headers.get('x-auth-token') ?? '';
    expect((await fetch(`${base}/v1/AUTH_shop/site`, { method: 'PUT', headers: { 'X-Auth-Token': token } })).status).toBe(201);
    for (const [name, body] of [['small.txt', 'hello'], ['big.bin', 'x'.repeat(200_000)]])
      expect((await fetch(`${base}/v1/AUTH_shop/site/${name}`, { method: 'PUT', headers: { 'X-Auth-Token': token }, body })).status).toBe(201);

    expect((await cli('domain', 'add', 'st.shop.example', 'AUTH_shop/site', '--data', data)).code).toBe(0);
    expect((await cli('domain', 'list', '--data', data)).stdout).toContain('st.shop.example');

    const fsck = await cli('fsck', '--deep', '--data', data);
    expect(fsck.stdout).toContain('clean');
    expect(fsck.code).toBe(0);

    // Removing the user revokes its token in every worker at once.
    expect((await cli('user', 'remove', 'shop:alice', '--data', data)).code).toBe(0);
    for (let i = 0; i < 4; i++)
      expect((await fetch(`${base}/v1/AUTH_shop/site`, { headers: { 'X-Auth-Token': token } })).status).toBe(401);

    server.kill('SIGTERM');
    await new Promise((r) => server?.once('exit', r));
    server = undefined;
  });

  it('fsck reports a lost blob (exit 4), repairs it (exit 1), then is clean (exit 0)', async () => {
    const blobs = join(data, 'objects', 'blobs');
    const [aa] = await readdir(blobs);
    const [bb] = await readdir(join(blobs, aa as string));
    const [id] = await readdir(join(blobs, aa as string, bb as string));
    await unlink(join(blobs, aa as string, bb as string, id as string));
    const found = await cli('fsck', '--data', data);
    expect(found.code).toBe(4);
    expect(found.stdout).toContain('missing-blob');
    const repaired = await cli('fsck', '--repair', '--data', data);
    expect(repaired.code).toBe(1);
    const clean = await cli('fsck', '--data', data);
    expect(clean.code).toBe(0);
  });
});
