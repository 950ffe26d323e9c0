/**
 * Everyday tools on a remote-mode mount: cp -r, rsync -a (twice: the second run moves
 * nothing), mv of a directory (server-side copy + delete per object), git, rm -rf.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseSkipReason, makeToolTree, ok, q, sh } from './helpers.ts';
import { R_ACCOUNT, R_CONTAINER, type RemoteMounted, mountRemoteForTest } from './remote-helpers.ts';

const skip = fuseSkipReason();
if (skip) console.warn(`FUSE tests skipped: ${skip}`);

const GIT = 'git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main -c advice.detachedHead=false';

describe.skipIf(skip !== undefined)('fuse remote mount: tools', () => {
  let m: RemoteMounted;
  let tree: string;
  beforeAll(async () => {
    m = await mountRemoteForTest();
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
    expect(await ok(`rsync -a --itemize-changes ${q(`${tree}/`)} ${q(`${dst}/`)}`)).toBe('');
    const st = (dir: string) => ok(`cd ${q(dir)} && find . -mindepth 1 -printf '%p %y %m %s %T@\\n' | sort`);
    const norm = (s: string) =>
      s.replace(/^(.* d \d+) \d+ (\d+)\.\d+$/gm, '$1 $2').replace(/^(.* [fl] \d+ \d+ \d+\.\d{3})\d*$/gm, '$1');
    expect(norm(await st(dst))).toBe(norm(await st(tree)));
  });

  it('mv of a directory copies each object server-side and deletes the sources', async () => {
    const ns = m.gw.core.namespace;
    await ok(`mkdir -p ${q(`${m.root}/many/empty`)}`);
    for (let i = 0; i < 100; i++) {
      await ns.putObject(R_ACCOUNT, R_CONTAINER, `many/sub${i % 5}/f${i}.txt`, Readable.from([Buffer.from(`file ${i}\n`)]), {
        contentType: 'text/plain',
        meta: { mode: '600' },
      });
    }
    await ok(`mv ${q(`${m.root}/many`)} ${q(`${m.root}/moved`)}`);
    expect(await ok(`find ${q(`${m.root}/moved`)} -type f | wc -l`)).toBe('100\n');
    expect(await ok(`ls ${q(`${m.root}/moved`)}`)).toContain('empty');
    expect((await sh(`ls ${q(`${m.root}/many`)}`)).code).not.toBe(0);
    expect(await ok(`cat ${q(`${m.root}/moved/sub3/f23.txt`)}`)).toBe('file 23\n');
    // Metadata came along with the copy.
    expect(await ok(`stat -c %a ${q(`${m.root}/moved/sub3/f23.txt`)}`)).toBe('600\n');
    expect(await ns.listObjects(R_ACCOUNT, R_CONTAINER, { prefix: 'many/', limit: 10 })).toEqual([]);
  });

  it('git: commit inside the mount, clone into it, clean status', async () => {
    const inside = `${m.root}/repo`;
    await ok(`mkdir ${q(inside)} && cd ${q(inside)} && ${GIT} init -q && cp -r ${q(tree)}/a . && ${GIT} add -A && ${GIT} commit -qm one`, { timeoutMs: 120_000 });
    expect(await ok(`cd ${q(inside)} && ${GIT} status --porcelain`)).toBe('');
    const origin = `${m.scratch}/origin`;
    await ok(`mkdir ${q(origin)} && cd ${q(origin)} && ${GIT} init -q && cp -r ${q(tree)}/. . && ${GIT} add -A && ${GIT} commit -qm first`);
    await ok(`${GIT} clone -q ${q(origin)} ${q(`${m.root}/clone`)}`, { timeoutMs: 120_000 });
    expect(await ok(`cd ${q(`${m.root}/clone`)} && ${GIT} status --porcelain`)).toBe('');
    expect(await sh(`diff -r -x .git -x empty ${q(origin)} ${q(`${m.root}/clone`)}`)).toMatchObject({ stdout: '', code: 0 });
  }, 240_000);

  it('rm -rf removes a tree', async () => {
    await ok(`rm -rf ${q(`${m.root}/cp`)} ${q(`${m.root}/clone`)}`, { timeoutMs: 120_000 });
    expect(await ok(`ls ${q(m.root)}`)).not.toMatch(/^(cp|clone)$/m);
    expect(await m.gw.core.namespace.listObjects(R_ACCOUNT, R_CONTAINER, { prefix: 'clone/', limit: 10 })).toEqual([]);
  });
});
