/**
 * Large files written through a local mount become their blob without a copy: the spool
 * file is hard-linked into the blob store at commit (Namespace putObject `localFile`).
 * What must hold: the bytes and ETag are right, a committed version never changes when
 * the still-open file is written again (copy-on-write from the committed object), no
 * spool file is left behind, and a deep fsck finds every blob matching its ETag.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectRecord } from '../../src/core/types.ts';
import { fsck } from '../../src/fsck.ts';
import { ACCOUNT, CONTAINER, type Mounted, fuseSkipReason, mountForTest, ok, q } from './helpers.ts';

const skip = fuseSkipReason();
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function bytesOf(m: Mounted, rec: ObjectRecord): Promise<Buffer> {
  const { stream } = await m.core.namespace.openObject(rec);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe.skipIf(skip !== undefined)('fuse local mount: large files become their blob without a copy', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await mountForTest();
  });
  afterAll(async () => {
    await m?.close();
  });

  it('stores a 3 MiB file with the right bytes and ETag', async () => {
    const src = join(m.scratch, 'three.bin');
    const data = randomBytes(3 * 1024 * 1024 + 123);
    await writeFile(src, data);
    await ok(`dd if=${q(src)} of=${q(`${m.root}/three.bin`)} bs=1M conv=fsync status=none`);
    const rec = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'three.bin');
    expect(rec?.size).toBe(data.length);
    expect(rec?.etag).toBe(md5(data));
    expect(md5(await bytesOf(m, rec as ObjectRecord))).toBe(md5(data));
    expect(await ok(`cmp ${q(src)} ${q(`${m.root}/three.bin`)} && echo same`)).toBe('same\n');
  });

  it('never changes a committed version when the open file is written again', async () => {
    const path = `${m.root}/rewritten.bin`;
    // Write 1 MiB, fsync (a commit), wait, then overwrite the start and close (another commit).
    const script = [
      'import os, sys',
      `fd = os.open(${JSON.stringify(path)}, os.O_RDWR | os.O_CREAT, 0o644)`,
      "os.write(fd, b'a' * (1024 * 1024))",
      'os.fsync(fd)',
      "print('synced', flush=True)",
      'sys.stdin.readline()',
      "os.pwrite(fd, b'b' * 10, 0)",
      "os.write(fd, b'c' * 5)",
      "print('written', flush=True)",
      'sys.stdin.readline()',
      'os.close(fd)',
      "print('closed', flush=True)",
    ].join('\n');
    const py = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value ?? '');
    expect(await next()).toBe('synced');
    const first = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'rewritten.bin');
    expect(first?.size).toBe(1024 * 1024);
    py.stdin.write('go\n');
    expect(await next()).toBe('written');
    // Written again but not committed yet: the committed blob must not have moved.
    const stillFirst = await m.core.blobs.read((first as ObjectRecord).blobId);
    const kept: Buffer[] = [];
    for await (const c of stillFirst) kept.push(c as Buffer);
    expect(md5(Buffer.concat(kept))).toBe(md5(Buffer.alloc(1024 * 1024, 'a')));
    py.stdin.write('go\n');
    expect(await next()).toBe('closed');
    await new Promise((r) => py.once('exit', r));

    const expected = Buffer.concat([Buffer.alloc(10, 'b'), Buffer.alloc(1024 * 1024 - 10, 'a'), Buffer.alloc(5, 'c')]);
    const last = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'rewritten.bin');
    expect(last?.etag).toBe(md5(expected));
    expect(md5(await bytesOf(m, last as ObjectRecord))).toBe(md5(expected));
    expect(first?.blobId).not.toBe(last?.blobId);
  });

  it('leaves no spool file and no blob that differs from its record', async () => {
    const spoolRoot = join(m.dataDir, 'fuse-spool');
    const leftovers: string[] = [];
    for (const pid of await readdir(spoolRoot).catch(() => [] as string[])) {
      for (const f of await readdir(join(spoolRoot, pid)).catch(() => [] as string[])) leftovers.push(f);
    }
    expect(leftovers).toEqual([]);
    const report = await fsck(m.core.store, m.core.blobs, { deep: true, pendingGraceMs: 0 });
    // Replaced versions' blobs are deleted in the background: marked garbage is fine.
    expect(report.problems.filter((p) => p.kind !== 'garbage-pending')).toEqual([]);
  });
});
