/**
 * Everyday tools on a local-mode mount: cp -r, rsync -a (twice: the second run moves
 * nothing), mv of a 500-file directory (metadata only: blob ids unchanged), git init/
 * commit and git clone with a clean status, rm -rf.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, CONTAINER, type Mounted, fuseSkipReason, makeToolTree, mountForTest, ok, q, sh } from './helpers.ts';

const skip = fuseSkipReason();
if (skip) console.warn(`FUSE tests skipped: ${skip}`);

const GIT = 'git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main -c advice.detachedHead=false';

describe.skipIf(skip !== undefined)('fuse local mount: tools', () => {
  let m: Mounted;
  let tree: string;
  beforeAll(async () => {
    m = await mountForTest();
    tree = `${m.scratch}/tree`;
    await makeToolTree(tree);
  });
  afterAll(async () => {
    await m?.close();
  });

  it('cp -r copies a tree in', async () => {
    await ok(`cp -r ${q(tree)} ${q(`${m.root}/cp`)}`);
    expect(await sh(`diff -r ${q(tree)} ${q(`${m.root}/cp`)}`)).toMatchObject({ code: 0 });
    expect(await ok(`find ${q(`${m.root}/cp`)} | wc -l`)).toBe(await ok(`find ${q(tree)} | wc -l`));
  });

  it('rsync -a copies a tree, and a second run transfers nothing', async () => {
    const dst = `${m.root}/rs`;
    await ok(`rsync -a ${q(`${tree}/`)} ${q(`${dst}/`)}`);
    expect(await sh(`diff -r ${q(tree)} ${q(dst)}`)).toMatchObject({ code: 0 });
    const again = await ok(`rsync -a --itemize-changes ${q(`${tree}/`)} ${q(`${dst}/`)}`);
    expect(again).toBe('');
    // Modes, sizes and mtimes round-tripped (mtimes in milliseconds: what the FUSE binding carries).
    const st = (dir: string) => ok(`cd ${q(dir)} && find . -mindepth 1 -printf '%p %y %m %s %T@\\n' | sort`);
    const norm = (s: string) =>
      s.replace(/^(.* d \d+) \d+ (\d+)\.\d+$/gm, '$1 $2').replace(/^(.* [fl] \d+ \d+ \d+\.\d{3})\d*$/gm, '$1');
    expect(norm(await st(dst))).toBe(norm(await st(tree)));
  });

  it('mv of a directory with 500 files moves metadata only', async () => {
    const ns = m.core.namespace;
    await ok(`mkdir -p ${q(`${m.root}/many`)}`);
    for (let i = 0; i < 500; i++) {
      await ns.putObject(ACCOUNT, CONTAINER, `many/sub${i % 5}/f${i}.txt`, Readable.from([Buffer.from(`file ${i}\n`)]), { contentType: 'text/plain' });
    }
    const before = new Map<string, string>();
    for (let i = 0; i < 500; i++) {
      const rec = await ns.getObject(ACCOUNT, CONTAINER, `many/sub${i % 5}/f${i}.txt`);
      before.set(`sub${i % 5}/f${i}.txt`, rec?.blobId ?? '');
    }
    await ok(`mv ${q(`${m.root}/many`)} ${q(`${m.root}/moved`)}`);
    expect(await ok(`find ${q(`${m.root}/moved`)} -type f | wc -l`)).toBe('500\n');
    expect((await sh(`ls ${q(`${m.root}/many`)}`)).code).not.toBe(0);
    for (const [name, blobId] of before) {
      const rec = await m.core.store.getObject(ACCOUNT, CONTAINER, `moved/${name}`);
      expect(rec?.blobId).toBe(blobId);
    }
    expect(await ok(`cat ${q(`${m.root}/moved/sub3/f123.txt`)}`)).toBe('file 123\n');
  });

  it('git: commit inside the mount, clone into it, clean status', async () => {
    const inside = `${m.root}/repo`;
    await ok(`mkdir ${q(inside)} && cd ${q(inside)} && ${GIT} init -q && cp -r ${q(tree)}/a . && ${GIT} add -A && ${GIT} commit -qm one`);
    expect(await ok(`cd ${q(inside)} && ${GIT} status --porcelain`)).toBe('');
    expect(await ok(`cd ${q(inside)} && ${GIT} fsck --no-progress 2>&1; echo rc=$?`)).toContain('rc=0');

    const origin = `${m.scratch}/origin`;
    await ok(`mkdir ${q(origin)} && cd ${q(origin)} && ${GIT} init -q && cp -r ${q(tree)}/. . && ${GIT} add -A && ${GIT} commit -qm first && echo more >> big.bin && ${GIT} commit -qam second`);
    await ok(`${GIT} clone -q ${q(origin)} ${q(`${m.root}/clone`)}`, { timeoutMs: 120_000 });
    expect(await ok(`cd ${q(`${m.root}/clone`)} && ${GIT} status --porcelain`)).toBe('');
    expect(await ok(`cd ${q(`${m.root}/clone`)} && ${GIT} log --oneline | wc -l`)).toBe('2\n');
    // git keeps no empty directories.
    expect(await sh(`diff -r -x .git -x empty ${q(origin)} ${q(`${m.root}/clone`)}`)).toMatchObject({ stdout: '', code: 0 });
  }, 180_000);

  it('rm -rf removes a tree', async () => {
    await ok(`rm -rf ${q(`${m.root}/cp`)} ${q(`${m.root}/clone`)}`);
    expect(await ok(`ls ${q(m.root)}`)).not.toMatch(/^(cp|clone)$/m);
    const left = await m.core.namespace.listObjects(ACCOUNT, CONTAINER, { prefix: 'clone/', limit: 10 });
    expect(left).toEqual([]);
  });
});
