/** The write spool on a real temp directory: bytes and MD5 whatever the write pattern. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMORY_LIMIT, Spool } from './spool.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const tick = () => new Promise((r) => setImmediate(r));

describe('Spool', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-spool-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function contents(spool: Spool, size: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of spool.source(size).stream()) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  for (const [label, total, chunk, pauses] of [
    ['small, in memory', 10_000, 4096, false],
    ['across the memory limit, hashed right away', MEMORY_LIMIT * 3 + 17, 128 * 1024, false],
    ['across the memory limit, hash trailing between writes', MEMORY_LIMIT * 3 + 17, 128 * 1024, true],
    ['far ahead of the hash (past the lag bound)', 12 * 1024 * 1024, 1024 * 1024, false],
  ] as const) {
    it(`written front to back (${label}): same bytes, right MD5`, async () => {
      const data = randomBytes(total);
      const spool = Spool.create(dir, { hashWrites: true });
      for (let pos = 0; pos < total; pos += chunk) {
        const piece = data.subarray(pos, Math.min(total, pos + chunk));
        await spool.write(piece, piece.length, pos);
        if (pauses) await tick();
      }
      expect(await spool.source(total).md5()).toBe(md5(data));
      expect(md5(await contents(spool, total))).toBe(md5(data));
      await spool.destroy();
    });
  }

  it('the hash never runs ahead of the bytes stored, even while the spool moves to its file', async () => {
    for (const first of [MEMORY_LIMIT, MEMORY_LIMIT - 4096, 128 * 1024]) {
      const data = randomBytes(first + 300_000);
      const spool = Spool.create(dir, { hashWrites: true });
      await spool.write(data, first, 0);
      // The write that leaves memory is under way (opening the file) while the trailing hash gets turns.
      const crossing = spool.write(data.subarray(first), data.length - first, first);
      for (let i = 0; i < 5; i++) await tick();
      await crossing;
      expect(await spool.source(data.length).md5()).toBe(md5(data));
      await spool.destroy();
    }
  });

  it('a rewrite in the middle and a truncate still give the MD5 of the final bytes', async () => {
    const total = MEMORY_LIMIT * 2;
    const data = randomBytes(total);
    const spool = Spool.create(dir, { hashWrites: true });
    await spool.write(data, total, 0);
    await tick();
    const patch = randomBytes(1000);
    await spool.write(patch, patch.length, 5000);
    patch.copy(data, 5000);
    expect(await spool.source(total).md5()).toBe(md5(data));
    await spool.truncate(total - 10);
    expect(await spool.source(total - 10).md5()).toBe(md5(data.subarray(0, total - 10)));
    await spool.destroy();
  });

  it('a file that is truncated to what was written and then extended keeps a right MD5', async () => {
    const a = randomBytes(MEMORY_LIMIT + 100);
    const b = randomBytes(50_000);
    const spool = Spool.create(dir, { hashWrites: true });
    await spool.write(a, a.length, 0);
    await spool.truncate(a.length);
    await spool.write(b, b.length, a.length);
    expect(await spool.source(a.length + b.length).md5()).toBe(md5(Buffer.concat([a, b])));
    await spool.destroy();
  });
});
