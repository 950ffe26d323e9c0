/**
 * Real clients against the FTP view, in clear and over explicit FTPS: lftp mirrors a
 * nested tree of 200 files up and down, renames and deletes it; curl resumes a download.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, curl, type FtpFixture, lftp, startFixture } from './harness.ts';

const ACCOUNT = 'AUTH_acme';

function makeTree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const dirs = ['', 'a', 'a/b', 'a/b/c', 'docs', 'Ünïcödé dir', 'images/2024'];
  for (let i = 0; i < 200; i++) {
    const dir = i === 3 ? '' : (dirs[i % dirs.length] ?? '');
    const name = i === 3 ? 'big.bin' : i % 17 === 0 ? `fichier-été-${i} 日本.txt` : `file-${i}.bin`;
    const rel = dir ? `${dir}/${name}` : name;
    const body = i === 3 ? randomBytes(3 * 1024 * 1024 + 123) : randomBytes(100 + ((i * 7919) % 5000));
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, rel), body);
    files.set(rel, body);
  }
  return files;
}

function walk(root: string, dir = root, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(root, p, out);
    else out.push(relative(root, p));
  }
  return out.sort();
}

async function objectNames(f: FtpFixture, container: string, prefix: string): Promise<string[]> {
  const page = await f.core.namespace.listObjects(ACCOUNT, container, { prefix, limit: 10_000 });
  return page
    .filter((e) => e.kind === 'object' && !e.name.endsWith('/') && e.contentType !== 'application/directory')
    .map((e) => e.name.slice(prefix.length))
    .sort();
}

describe.each([
  { mode: 'plain', tls: false },
  { mode: 'FTPS', tls: true },
])('FTP with real clients ($mode)', ({ tls }) => {
  let f: FtpFixture;
  let local: string;
  let files: Map<string, Buffer>;

  beforeAll(async () => {
    f = await startFixture({ tls });
    local = join(f.dir, 'local');
    files = makeTree(local);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('mirrors a nested folder of 200 files up', async () => {
    const r = await lftp(f.port, ADMIN, `mirror -R '${local}' /site/upload`, tls);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The Namespace (what HTTP and FUSE read) holds exactly the uploaded tree.
    expect(await objectNames(f, 'site', 'upload/')).toEqual([...files.keys()].sort());
    const rec = await f.core.namespace.getObject(ACCOUNT, 'site', 'upload/big.bin');
    expect(rec?.size).toBe(3 * 1024 * 1024 + 123);
  });

  it('lists it as clients parse it', async () => {
    const r = await lftp(f.port, ADMIN, 'cls -1 /site/upload/', tls);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\/site\/upload\//, '').replace(/\/$/, ''));
    const top = new Set([...files.keys()].map((k) => k.split('/')[0]));
    expect(names.sort()).toEqual([...top].sort());
    const long = await lftp(f.port, ADMIN, 'ls /site/upload/Ünïcödé\\ dir', tls);
    expect(long.code).toBe(0);
    expect(long.stdout).toMatch(/^-rw-r--r-- +1 ftp +ftp +\d+ \w{3} \d{2} +[\d:]+ fichier-été-\d+ 日本\.txt$/m);
  });

  it('renames the folder as a metadata-only move', async () => {
    const before = await f.core.namespace.getObject(ACCOUNT, 'site', 'upload/big.bin');
    const r = await lftp(f.port, ADMIN, 'mv /site/upload /site/moved', tls);
    expect(r.code).toBe(0);
    expect(await objectNames(f, 'site', 'upload/')).toEqual([]);
    expect(await objectNames(f, 'site', 'moved/')).toEqual([...files.keys()].sort());
    const after = await f.core.namespace.getObject(ACCOUNT, 'site', 'moved/big.bin');
    expect(after?.blobId).toBe(before?.blobId); // no byte was copied
  });

  it('downloads it byte-identical', async () => {
    const back = join(f.dir, 'back');
    const r = await lftp(f.port, ADMIN, `mirror /site/moved '${back}'`, tls);
    expect(r.code).toBe(0);
    expect(walk(back)).toEqual([...files.keys()].sort());
    for (const [rel, body] of files) expect(readFileSync(join(back, rel)).equals(body), rel).toBe(true);
  });

  it('resumes an interrupted download (curl -C -)', async () => {
    const target = join(f.dir, 'resume.bin');
    const body = files.get('big.bin') ?? Buffer.alloc(0);
    writeFileSync(target, body.subarray(0, 1_000_000));
    const r = await curl(f.port, ADMIN, '/site/moved/big.bin', ['-C', '-', '-o', target], tls);
    expect(r.stderr).toBe('');
    expect(statSync(target).size).toBe(body.length);
    expect(readFileSync(target).equals(body)).toBe(true);
  });

  it('resumes with lftp get -c after truncating the local file', async () => {
    const target = join(f.dir, 'resume2.bin');
    const body = files.get('big.bin') ?? Buffer.alloc(0);
    writeFileSync(target, body);
    truncateSync(target, 777_777);
    const r = await lftp(f.port, ADMIN, `get -c /site/moved/big.bin -o '${target}'`, tls);
    expect(r.code).toBe(0);
    expect(readFileSync(target).equals(body)).toBe(true);
  });

  it('deletes it', async () => {
    const r = await lftp(f.port, ADMIN, 'rm -r /site/moved', tls);
    expect(r.code).toBe(0);
    expect(await objectNames(f, 'site', '')).toEqual([]);
    const rmdir = await lftp(f.port, ADMIN, 'rmdir /site', tls);
    expect(rmdir.code).toBe(0);
    expect(await f.core.namespace.getContainer(ACCOUNT, 'site')).toBeUndefined();
  });
});
