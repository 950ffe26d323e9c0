/**
 * Real Swift clients against a running swiftgate: python-swiftclient's `swift` CLI and
 * rclone's swift backend (Debian packages, installed by scripts/install-test-deps.sh).
 * Child processes run asynchronously: the gateway serves them from this event loop.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';

const run = promisify(execFile);

/** Every file below `root`, as paths relative to it, sorted. */
async function walk(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(root, p)));
    else out.push(relative(root, p));
  }
  return out.sort();
}

async function makeTree(root: string): Promise<string[]> {
  const files: Record<string, Buffer> = {
    'index.html': Buffer.from('<h1>hello</h1>'),
    'img/logo.gif': randomBytes(3000),
    'img/2024/photo one.jpg': randomBytes(200_000),
    'docs/café/menu é.txt': Buffer.from('menu du jour\n'),
    'docs/empty.txt': Buffer.alloc(0),
    'video/clip.mp4': randomBytes(1_500_000),
  };
  for (const [name, data] of Object.entries(files)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), data);
  }
  return Object.keys(files).sort();
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

describe('real Swift clients', () => {
  let h: Harness;
  let work: string;
  let names: string[];

  beforeAll(async () => {
    h = await startHarness();
    work = await mkdtemp(join(tmpdir(), 'sg-clients-'));
    names = await makeTree(join(work, 'tree'));
  });
  afterAll(async () => {
    await h?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('python-swiftclient: upload a nested tree, list with prefix/delimiter, download identical, stat, delete', async () => {
    const swift = (...args: string[]) =>
      run('swift', ['-A', `${h.url}/auth/v1.0`, '-U', 'test:tester', '-K', 'testing', ...args], { cwd: work, timeout: 60_000 });
    await swift('upload', 'site', 'tree');
    const top = (await swift('list', 'site', '--prefix', 'tree/', '--delimiter', '/')).stdout.trim().split('\n');
    expect(top).toEqual(['tree/docs/', 'tree/img/', 'tree/index.html', 'tree/video/']);
    const img = (await swift('list', 'site', '--prefix', 'tree/img/', '--delimiter', '/')).stdout.trim().split('\n');
    expect(img).toEqual(['tree/img/2024/', 'tree/img/logo.gif']);
    const all = (await swift('list', 'site')).stdout.trim().split('\n');
    expect(all).toEqual(names.map((n) => `tree/${n}`).sort());

    await swift('download', 'site', '--output-dir', join(work, 'down'));
    expect(await walk(join(work, 'down', 'tree'))).toEqual(names);
    for (const n of names) expect(await sameBytes(join(work, 'tree', n), join(work, 'down', 'tree', n))).toBe(true);

    const st = (await swift('stat', 'site')).stdout;
    expect(st).toMatch(new RegExp(`Objects: ${names.length}\\b`));
    const bytes = (await Promise.all(names.map(async (n) => (await stat(join(work, 'tree', n))).size))).reduce((a, b) => a + b, 0);
    expect(st).toMatch(new RegExp(`Bytes: ${bytes}\\b`));

    await swift('delete', 'site');
    const res = await fetch(`${h.url}/auth/v1.0`, { headers: { 'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing' } });
    const token = res.headers.get('x-auth-token') ?? '';
    expect((await fetch(`${h.url}/v1/AUTH_test/site`, { headers: { 'X-Auth-Token': token } })).status).toBe(404);
  });

  it('rclone: copy, check (no differences), lsf -R, move, purge', async () => {
    const env = {
      ...process.env,
      RCLONE_CONFIG_SG_TYPE: 'swift',
      RCLONE_CONFIG_SG_AUTH: `${h.url}/auth/v1.0`,
      RCLONE_CONFIG_SG_USER: 'test:tester',
      RCLONE_CONFIG_SG_KEY: 'testing',
      RCLONE_CONFIG: join(work, 'rclone.conf'),
    };
    const rclone = (...args: string[]) => run('rclone', ['--retries', '1', ...args], { cwd: work, env, timeout: 60_000 });
    await rclone('copy', 'tree', 'sg:rc/tree');
    await rclone('check', 'tree', 'sg:rc/tree'); // exits non-zero on any difference
    const listed = (await rclone('lsf', '-R', '--files-only', 'sg:rc/tree')).stdout.trim().split('\n').sort();
    expect(listed).toEqual(names);
    const dirs = (await rclone('lsf', '-R', '--dirs-only', 'sg:rc/tree')).stdout.trim().split('\n').sort();
    expect(dirs).toEqual(['docs/', 'docs/café/', 'img/', 'img/2024/', 'video/']);

    await rclone('move', 'sg:rc/tree', 'sg:rc/moved');
    expect((await rclone('lsf', '-R', '--files-only', 'sg:rc/moved')).stdout.trim().split('\n').sort()).toEqual(names);
    expect((await rclone('lsf', '-R', 'sg:rc/tree').catch(() => ({ stdout: '' }))).stdout.trim()).toBe('');
    await rclone('check', 'tree', 'sg:rc/moved');

    await rclone('purge', 'sg:rc');
    const gone = await rclone('lsd', 'sg:').then((r) => r.stdout);
    expect(gone).not.toMatch(/\brc\b/);
  });
});
