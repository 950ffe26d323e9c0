/**
 * swiftgate migrate from the embedded default (LevelDB + local disk) to the scale-out
 * backends (PostgreSQL + S3 on Swift's s3api, both real servers started here):
 * interrupted halfway and resumed, then everything compared and fsck'd at the destination.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type SharedBackends, startSharedBackends, swiftgateCli, writeGatewayConfig } from '../test/scale/cluster.ts';
import { loadConfig } from './config.ts';
import { type Core, openCore } from './core.ts';
import { fsck } from './fsck.ts';
import { type MigrateProgress, migrate } from './migrate.ts';

let b: SharedBackends;
let dir: string;
let srcConfigPath: string;
let dstConfigPath: string;
let src: Core;
let dst: Core;
const bodies = new Map<string, Buffer>();

const md5 = (x: Buffer): string => createHash('md5').update(x).digest('hex');

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  b = await startSharedBackends({ bucket: 'migrate' });
  dir = mkdtempSync(join(tmpdir(), 'swiftgate-migrate-'));
  srcConfigPath = join(dir, 'src.toml');
  writeFileSync(srcConfigPath, `data_dir = ${JSON.stringify(join(dir, 'src-data'))}\n`);
  dstConfigPath = writeGatewayConfig(b, { name: 'dst', port: 1 });
  src = await openCore(loadConfig({ file: srcConfigPath, env: {} }), 'owner');
  dst = await openCore(loadConfig({ file: dstConfigPath, env: {} }), 'owner');

  const ns = src.namespace;
  await src.users.addUser({ account: 'test', user: 'tester', key: 'testing', admin: true });
  await src.users.addUser({ account: 'other', user: 'bob', key: 'bobkey' });
  await ns.createAccount('AUTH_test', { meta: { set: { owner: 'qa' } } });
  await ns.createContainer('AUTH_test', 'photos', { meta: { color: 'blue' }, readAcl: '.r:*,.rlistings', writeAcl: 'AUTH_other' });
  await ns.createContainer('AUTH_test', 'empty');
  await ns.createContainer('AUTH_other', 'docs', { meta: { 'quota-bytes': '100000000' } });
  const sizes = [0, 1, 100, 4096, 65_536, 300_000, 6 * 1024 * 1024];
  for (let i = 0; i < 40; i++) {
    const container = i % 4 === 0 ? 'docs' : 'photos';
    const account = container === 'docs' ? 'AUTH_other' : 'AUTH_test';
    const name = `dir${i % 3}/file-${i}.bin`;
    const body = randomBytes(sizes[i % sizes.length] ?? 0);
    bodies.set(`${account}/${container}/${name}`, body);
    await ns.putObject(account, container, name, Readable.from([body]), {
      contentType: i % 2 ? 'image/png' : 'application/octet-stream',
      meta: { index: String(i) },
      headers: { 'content-disposition': `attachment; filename="f${i}"` },
    });
  }
  // A POST after the PUT: Last-Modified (metaTimestamp) differs from the data timestamp.
  await new Promise((r) => setTimeout(r, 20));
  await ns.updateObjectMeta('AUTH_test', 'photos', 'dir1/file-1.bin', { meta: { set: { posted: 'yes' }, replace: true } });
  await src.domains.add('static.example.com', 'AUTH_test', 'photos');
}, 400_000);

afterAll(async () => {
  await src?.close().catch(() => undefined);
  await dst?.close();
  await b?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('swiftgate migrate: LevelDB + local disk → PostgreSQL + S3', () => {
  it('is interrupted halfway, resumes where it stopped, and copies everything verified', async () => {
    const abort = new AbortController();
    let handled = 0;
    await expect(
      migrate(src, dst, {
        concurrency: 4,
        signal: abort.signal,
        onObject: (p: MigrateProgress) => {
          handled = p.objects;
          if (p.objects >= 20) abort.abort(new Error('interrupted by the test'));
        },
      }),
    ).rejects.toThrow(/interrupted/);
    expect(handled).toBeGreaterThanOrEqual(20);
    expect(handled).toBeLessThan(40);
    // Nothing half-written at the destination after the interruption.
    const mid = await fsck(dst.store, dst.blobs, { pendingGraceMs: 0 });
    expect(mid.problems).toEqual([]);

    const lines: string[] = [];
    const report = await migrate(src, dst, { concurrency: 4, onProgress: (p) => lines.push(`${p.objects}/${p.totalObjects}`), progressMs: 50 });
    expect(report.failures).toEqual([]);
    expect(report.totalObjects).toBe(40);
    expect(report.objects).toBe(40);
    expect(report.skipped).toBeGreaterThanOrEqual(handled - 4); // those copied before the interruption
    expect(report.copied + report.skipped).toBe(40);
    expect(report).toMatchObject({ accounts: 2, containers: 3, users: 2, domains: 1 });
    expect(lines.at(-1)).toBe('40/40');

    // Everything is there, byte for byte, with its metadata.
    for (const [path, body] of bodies) {
      const [account, container, ...rest] = path.split('/') as [string, string, ...string[]];
      const name = rest.join('/');
      const s = await src.store.getObject(account, container, name);
      const d = await dst.store.getObject(account, container, name);
      expect(d, path).toBeDefined();
      if (!s || !d) continue;
      // Where the bytes live differs (LevelDB keeps small ones inline, PostgreSQL does not).
      expect({ ...d, blobId: '', inline: false }).toEqual({ ...s, blobId: '', inline: false });
      expect(md5(await readAll((await dst.namespace.openObject(d)).stream))).toBe(md5(body));
    }
    for (const [account, container] of [
      ['AUTH_test', 'photos'],
      ['AUTH_test', 'empty'],
      ['AUTH_other', 'docs'],
    ] as const) {
      const s = await src.store.getContainer(account, container);
      const d = await dst.store.getContainer(account, container);
      expect(d).toMatchObject({ meta: s?.meta, readAcl: s?.readAcl, writeAcl: s?.writeAcl, objectCount: s?.objectCount, bytesUsed: s?.bytesUsed });
    }
    expect((await dst.store.getAccount('AUTH_test'))?.meta).toEqual({ owner: 'qa' });
    expect(await dst.users.verify('test', 'tester', 'testing')).toBeDefined();
    expect((await dst.store.getUser('other', 'bob'))?.keyHash).toBe((await src.store.getUser('other', 'bob'))?.keyHash);
    expect(await dst.store.getDomain('static.example.com')).toMatchObject({ account: 'AUTH_test', container: 'photos' });
    const report2 = await fsck(dst.store, dst.blobs, { deep: true, pendingGraceMs: 0 });
    expect(report2.problems).toEqual([]);
    expect(report2.objects).toBe(40);

    // A third run finds nothing to do.
    const again = await migrate(src, dst);
    expect(again).toMatchObject({ copied: 0, skipped: 40, failures: [] });
  }, 300_000);

  it('fails (exit code 1) when bytes do not hash to their ETag, copying nothing wrong', async () => {
    // A source record whose ETag its bytes do not have (as after silent corruption).
    const rec = await src.store.getObject('AUTH_test', 'photos', 'dir2/file-2.bin');
    if (!rec) throw new Error('fixture missing');
    const bad = { ...rec, etag: 'f'.repeat(32), timestamp: '9999999999.00000', metaTimestamp: '9999999999.00000' };
    await src.store.commitObjects('AUTH_test', 'photos', [{ op: 'put', record: bad }]);
    await src.close(); // the CLI opens the LevelDB store itself
    const run = swiftgateCli(['migrate', '--from-config', srcConfigPath, '--to-config', dstConfigPath], { ...process.env, SWIFTGATE_POSTGRES_URL: '' });
    const err = (await run.then(() => undefined, (e: unknown) => e)) as { code?: number; stdout?: string; stderr?: string } | undefined;
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/FAILED AUTH_test\/photos\/dir2\/file-2\.bin: .*/);
    expect(err?.stderr).toMatch(/migrate: 40\/40 objects/);
    expect(err?.stdout).toMatch(/39 already there, 1 failed/);
    // The destination kept the good version.
    expect((await dst.store.getObject('AUTH_test', 'photos', 'dir2/file-2.bin'))?.etag).toBe(rec.etag);
    expect((await fsck(dst.store, dst.blobs, { pendingGraceMs: 0 })).problems).toEqual([]);
  }, 120_000);
});
