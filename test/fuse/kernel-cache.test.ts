/**
 * Local mounts let the kernel cache names, attributes and file contents and drop what
 * every change made elsewhere made wrong (interfaces/fuse/kernel-cache.ts). First proof
 * that the kernel really caches (a store write that bypasses the change feed stays
 * unseen), then that every kind of change through the core shows at once in `stat`,
 * `ls` and `cat`, which the kernel answers from its caches whenever it can.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, CONTAINER, type Mounted, fuseSkipReason, mountForTest, ok, q, sh } from './helpers.ts';

const skip = fuseSkipReason();
const body = (n: number) => Readable.from([Buffer.alloc(n, 120)]);
const sizeOf = async (path: string) => Number((await ok(`stat -c %s ${q(path)}`)).trim());
const gone = async (path: string) => (await sh(`stat ${q(path)}`)).code !== 0;
const text = (s: string) => Readable.from([Buffer.from(s)]);
const cat = (path: string) => ok(`cat ${q(path)}`);

describe.skipIf(skip !== undefined)('fuse local mount: kernel cache', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await mountForTest();
  });
  afterAll(async () => {
    await m?.close();
  });

  it('is on: a write that skips the change feed stays unseen past the lookup cache TTL', async () => {
    await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'cached.txt', body(3), { contentType: 'text/plain' });
    expect(await sizeOf(`${m.root}/cached.txt`)).toBe(3);
    const rec = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'cached.txt');
    if (!rec) throw new Error('object missing');
    // Straight to the metadata store: no change event, so no invalidation.
    await m.core.store.commitObjects(ACCOUNT, CONTAINER, [{ op: 'put', record: { ...rec, size: 4, timestamp: `${rec.timestamp}1`, metaTimestamp: `${rec.metaTimestamp}1` } }]);
    await new Promise((r) => setTimeout(r, 1300)); // the in-process lookup cache keeps entries 1 s
    expect(await sizeOf(`${m.root}/cached.txt`)).toBe(3);
  });

  it('sees every overwrite through the core at once, 50 times in a row', async () => {
    const f = `${m.root}/often.txt`;
    for (let i = 1; i <= 50; i++) {
      await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'often.txt', body(i), { contentType: 'text/plain' });
      expect(await sizeOf(f)).toBe(i);
    }
  });

  it('sees deletes, implicit directories going away, and directory renames at once', async () => {
    const ns = m.core.namespace;
    await ns.putObject(ACCOUNT, CONTAINER, 'a/b/c/leaf.txt', body(5), { contentType: 'text/plain' });
    expect(await sizeOf(`${m.root}/a/b/c/leaf.txt`)).toBe(5);
    expect(await ok(`stat -c %F ${q(`${m.root}/a/b/c`)}`)).toBe('directory\n');
    await ns.deleteObject(ACCOUNT, CONTAINER, 'a/b/c/leaf.txt');
    expect(await gone(`${m.root}/a/b/c/leaf.txt`)).toBe(true);
    // a/b/c and its parents were implicit: they went with their last object.
    expect(await gone(`${m.root}/a/b/c`)).toBe(true);
    expect(await gone(`${m.root}/a`)).toBe(true);

    await ns.putObject(ACCOUNT, CONTAINER, 'from/x.txt', body(7), { contentType: 'text/plain' });
    expect(await sizeOf(`${m.root}/from/x.txt`)).toBe(7);
    await ns.renameDirectory(ACCOUNT, CONTAINER, 'from', 'to');
    expect(await gone(`${m.root}/from/x.txt`)).toBe(true);
    expect(await gone(`${m.root}/from`)).toBe(true);
    expect(await sizeOf(`${m.root}/to/x.txt`)).toBe(7);
  });

  it('sees a file turn into a directory and a container go away', async () => {
    const ns = m.core.namespace;
    await ns.putObject(ACCOUNT, CONTAINER, 'shape', body(2), { contentType: 'text/plain' });
    expect(await ok(`stat -c %F ${q(`${m.root}/shape`)}`)).toBe('regular file\n');
    await ns.deleteObject(ACCOUNT, CONTAINER, 'shape');
    await ns.putObject(ACCOUNT, CONTAINER, 'shape/inner.txt', body(1), { contentType: 'text/plain' });
    expect(await ok(`stat -c %F ${q(`${m.root}/shape`)}`)).toBe('directory\n');

    await ns.createContainer(ACCOUNT, 'short-lived');
    expect(await ok(`stat -c %F ${q(`${m.mnt}/short-lived`)}`)).toBe('directory\n');
    await ns.deleteContainer(ACCOUNT, 'short-lived');
    expect(await gone(`${m.mnt}/short-lived`)).toBe(true);
  });

  it('lists what changed through the core at once (directory listings are cached too)', async () => {
    const ns = m.core.namespace;
    const ls = async (p: string) => (await ok(`ls -A ${q(p)}`)).split('\n').filter(Boolean);
    await ns.putObject(ACCOUNT, CONTAINER, 'listed/one', body(1), { contentType: 'text/plain' });
    expect(await ls(`${m.root}/listed`)).toEqual(['one']);
    for (let i = 0; i < 20; i++) {
      await ns.putObject(ACCOUNT, CONTAINER, `listed/n${i}`, body(1), { contentType: 'text/plain' });
      expect(await ls(`${m.root}/listed`)).toContain(`n${i}`);
      await ns.deleteObject(ACCOUNT, CONTAINER, `listed/n${i}`);
      expect(await ls(`${m.root}/listed`)).toEqual(['one']);
    }
    // A deeper object makes an implicit directory appear in the listing above.
    await ns.putObject(ACCOUNT, CONTAINER, 'listed/sub/deep/x', body(1), { contentType: 'text/plain' });
    expect(await ls(`${m.root}/listed`)).toEqual(['one', 'sub']);
    await ns.deleteObject(ACCOUNT, CONTAINER, 'listed/sub/deep/x');
    expect(await ls(`${m.root}/listed`)).toEqual(['one']);
    await ns.createContainer(ACCOUNT, 'listed-too');
    expect(await ls(m.mnt)).toContain('listed-too');
    await ns.deleteContainer(ACCOUNT, 'listed-too');
    expect(await ls(m.mnt)).not.toContain('listed-too');
  });

  it("the mount's own changes keep working with the cache on", async () => {
    const d = `${m.root}/own`;
    await ok(`mkdir ${q(d)} && for i in $(seq 1 40); do echo $i > ${q(d)}/f$i; done`);
    await ok(`mv ${q(d)} ${q(`${m.root}/own2`)}`);
    expect(await ok(`ls ${q(`${m.root}/own2`)} | wc -l`)).toBe('40\n');
    await ok(`rm -r ${q(`${m.root}/own2`)}`);
    expect(await gone(`${m.root}/own2`)).toBe(true);
    expect(await m.core.namespace.listObjects(ACCOUNT, CONTAINER, { prefix: 'own', limit: 10 })).toEqual([]);
  });

  it('keeps file contents across opens: bytes changed behind the change feed stay unseen', async () => {
    const ns = m.core.namespace;
    await ns.putObject(ACCOUNT, CONTAINER, 'paged.txt', text('old bytes'), { contentType: 'text/plain' });
    await ns.putObject(ACCOUNT, CONTAINER, 'donor.txt', text('new bytes'), { contentType: 'text/plain' });
    expect(await cat(`${m.root}/paged.txt`)).toBe('old bytes');
    const rec = await ns.getObject(ACCOUNT, CONTAINER, 'paged.txt');
    const donor = await ns.getObject(ACCOUNT, CONTAINER, 'donor.txt');
    if (!rec || !donor) throw new Error('object missing');
    // Same size, other bytes, straight to the store: no change event, no invalidation.
    await m.core.store.commitObjects(ACCOUNT, CONTAINER, [{ op: 'put', record: { ...donor, name: 'paged.txt' } }]);
    await new Promise((r) => setTimeout(r, 1300)); // past the in-process lookup cache
    expect(await cat(`${m.root}/paged.txt`)).toBe('old bytes');
  });

  it('reads the new bytes of a same-size overwrite through the core at once, 30 times in a row', async () => {
    const f = `${m.root}/same-size.txt`;
    for (let i = 0; i < 30; i++) {
      const bytes = `version ${String(i).padStart(3, '0')}`;
      await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'same-size.txt', text(bytes), { contentType: 'text/plain' });
      expect(await cat(f)).toBe(bytes);
      expect(await cat(f)).toBe(bytes);
    }
  });

  it('reads the new bytes even while another process holds the file open', async () => {
    const f = `${m.root}/held.txt`;
    await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'held.txt', text('first'), { contentType: 'text/plain' });
    expect(await cat(f)).toBe('first');
    // Keeps the inode (and its pages) alive across the overwrite, as a web server's open-file cache does.
    const holder = spawn('bash', ['-c', `exec 3<${q(f)}; head -c 5 <&3 >/dev/null; sleep 30`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (const next of ['again', 'third', 'forth']) {
        await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'held.txt', text(next), { contentType: 'text/plain' });
        expect(await cat(f)).toBe(next);
      }
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('follows its own renames: a change under the new name shows at once', async () => {
    const ns = m.core.namespace;
    await ns.putObject(ACCOUNT, CONTAINER, 'before.txt', text('aaaa'), { contentType: 'text/plain' });
    expect(await cat(`${m.root}/before.txt`)).toBe('aaaa');
    await ok(`mv ${q(`${m.root}/before.txt`)} ${q(`${m.root}/after.txt`)}`);
    expect(await cat(`${m.root}/after.txt`)).toBe('aaaa');
    await ns.putObject(ACCOUNT, CONTAINER, 'after.txt', text('bbbb'), { contentType: 'text/plain' });
    expect(await cat(`${m.root}/after.txt`)).toBe('bbbb');
  });

  it('its own writes and a change elsewhere right after both show', async () => {
    const f = `${m.root}/mixed.txt`;
    for (let i = 0; i < 10; i++) {
      await ok(`printf 'mount%02d' ${i} > ${q(f)}`);
      expect(await cat(f)).toBe(`mount${String(i).padStart(2, '0')}`);
      await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'mixed.txt', text(`core_${String(i).padStart(2, '0')}`), { contentType: 'text/plain' });
      expect(await cat(f)).toBe(`core_${String(i).padStart(2, '0')}`);
    }
  });
});

describe.skipIf(skip !== undefined)('fuse local mount: page cache past the attribute timeout', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await mountForTest({ attrTimeout: 1, entryTimeout: 1 });
  });
  afterAll(async () => {
    await m?.close();
  });

  it('drops the pages of a file read long ago when it changes (the kernel would keep them)', async () => {
    const f = `${m.root}/old-read.txt`;
    await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'old-read.txt', text('long ago'), { contentType: 'text/plain' });
    expect(await cat(f)).toBe('long ago');
    // Past the attribute window: only the record of the open says the pages may be cached.
    await new Promise((r) => setTimeout(r, 2500));
    await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'old-read.txt', text('just now'), { contentType: 'text/plain' });
    expect(await cat(f)).toBe('just now');
  });
});
