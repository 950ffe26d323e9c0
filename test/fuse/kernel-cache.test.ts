/**
 * Local mounts let the kernel cache names and attributes (positive timeouts) and drop
 * its entries on every change made elsewhere (interfaces/fuse/kernel-cache.ts). First
 * proof that the kernel really caches (a store write that bypasses the change feed stays
 * unseen), then that every kind of change through the core shows at once in `stat`,
 * which the kernel answers from its cache whenever it can.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, CONTAINER, type Mounted, fuseSkipReason, mountForTest, ok, q, sh } from './helpers.ts';

const skip = fuseSkipReason();
const body = (n: number) => Readable.from([Buffer.alloc(n, 120)]);
const sizeOf = async (path: string) => Number((await ok(`stat -c %s ${q(path)}`)).trim());
const gone = async (path: string) => (await sh(`stat ${q(path)}`)).code !== 0;

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
});
