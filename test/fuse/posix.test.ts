/**
 * POSIX behaviour of a local-mode mount, checked with real coreutils: files,
 * directories, random writes, attributes, errno values, and coherence with changes
 * made through the Namespace (as HTTP and FTP make them).
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, CONTAINER, type Mounted, fuseSkipReason, mountForTest, ok, q, sh } from './helpers.ts';

const skip = fuseSkipReason();
if (skip) console.warn(`FUSE tests skipped: ${skip}`);

/** errno number of a failing perl expression ($p = path argument), or 0. */
async function errnoOf(perl: string, ...args: string[]): Promise<number> {
  const r = await sh(`perl -e ${q(`${perl} or do { print int($!); exit 0 }; print 0`)} ${args.map(q).join(' ')}`);
  return Number(r.stdout.trim());
}

const ENOENT = 2;
const EEXIST = 17;
const EXDEV = 18;
const ENOTDIR = 20;
const EISDIR = 21;
const ENOTEMPTY = 39;
const EDQUOT = 122;

describe.skipIf(skip !== undefined)('fuse local mount: POSIX', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await mountForTest();
  });
  afterAll(async () => {
    await m?.close();
  });

  it('writes, reads and lists files', async () => {
    await ok(`echo hello > ${q(`${m.root}/a.txt`)}`);
    expect(await ok(`cat ${q(`${m.root}/a.txt`)}`)).toBe('hello\n');
    expect(await ok(`ls ${q(m.root)}`)).toContain('a.txt');
    expect(await ok(`ls ${q(m.mnt)}`)).toBe(`${CONTAINER}\nother\n`);
    const rec = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'a.txt');
    expect(rec?.size).toBe(6);
    expect(rec?.contentType).toBe('text/plain');
  });

  it('keeps empty directories, also after their last file goes', async () => {
    await ok(`mkdir ${q(`${m.root}/empty`)} && ls -la ${q(`${m.root}/empty`)}`);
    expect(await ok(`ls ${q(m.root)}`)).toContain('empty');
    // An implicit directory (made over HTTP, no marker) stays when emptied here.
    await m.core.namespace.putObject(ACCOUNT, CONTAINER, 'implicit/only.txt', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
    await ok(`rm ${q(`${m.root}/implicit/only.txt`)}`);
    expect(await ok(`ls -a ${q(`${m.root}/implicit`)}`)).toBe('.\n..\n');
    await ok(`rmdir ${q(`${m.root}/implicit`)}`);
    expect(await ok(`ls ${q(m.root)}`)).not.toContain('implicit');
  });

  it('does random writes in the middle of a file and ranged reads', async () => {
    const f = q(`${m.root}/rand.bin`);
    const local = q(`${m.scratch}/rand.bin`);
    await ok(`head -c 3000000 /dev/urandom > ${local} && cp ${local} ${f}`);
    await ok(`dd if=/dev/zero of=${f} bs=1 count=7 seek=1234567 conv=notrunc status=none`);
    await ok(`dd if=/dev/zero of=${local} bs=1 count=7 seek=1234567 conv=notrunc status=none`);
    expect(await ok(`cmp ${f} ${local} && echo same`)).toBe('same\n');
    expect(await ok(`tail -c 1000 ${f} | md5sum`)).toBe(await ok(`tail -c 1000 ${local} | md5sum`));
    expect(await ok(`dd if=${f} bs=4096 skip=300 count=2 status=none | md5sum`)).toBe(
      await ok(`dd if=${local} bs=4096 skip=300 count=2 status=none | md5sum`),
    );
    // Appending and truncating.
    await ok(`echo tail >> ${f} && echo tail >> ${local} && truncate -s 2000000 ${f} && truncate -s 2000000 ${local}`);
    expect(await ok(`cmp ${f} ${local} && stat -c %s ${f}`)).toBe('2000000\n');
  });

  it('keeps mode and mtime as object metadata', async () => {
    const f = `${m.root}/times.txt`;
    await ok(`echo t > ${q(f)} && touch -d '2020-01-02 03:04:05.250' ${q(f)} && chmod 640 ${q(f)}`);
    expect(await ok(`stat -c '%Y %a' ${q(f)}`)).toBe('1577934245 640\n');
    const rec = await m.core.namespace.getObject(ACCOUNT, CONTAINER, 'times.txt');
    expect(rec?.meta.mtime).toBe('1577934245.250');
    expect(rec?.meta.mode).toBe('640');
    // cp -p sets times on the open descriptor before close: the commit must keep them.
    await ok(`cp -p ${q(f)} ${q(`${m.root}/times-copy.txt`)}`);
    expect(await ok(`stat -c '%Y %a' ${q(`${m.root}/times-copy.txt`)}`)).toBe('1577934245 640\n');
  });

  it('shows changes made through the Namespace at once, and the other way round', async () => {
    const ns = m.core.namespace;
    await ns.putObject(ACCOUNT, CONTAINER, 'from-http/x.txt', Readable.from([Buffer.from('one')]), { contentType: 'text/plain' });
    expect(await ok(`cat ${q(`${m.root}/from-http/x.txt`)}`)).toBe('one');
    await ns.putObject(ACCOUNT, CONTAINER, 'from-http/x.txt', Readable.from([Buffer.from('second')]), { contentType: 'text/plain' });
    expect(await ok(`cat ${q(`${m.root}/from-http/x.txt`)}`)).toBe('second');
    expect(await ok(`ls ${q(`${m.root}/from-http`)}`)).toBe('x.txt\n');
    await ns.deleteObject(ACCOUNT, CONTAINER, 'from-http/x.txt');
    expect((await sh(`cat ${q(`${m.root}/from-http/x.txt`)}`)).code).not.toBe(0);
    await ns.createContainer(ACCOUNT, 'newer');
    expect(await ok(`ls ${q(m.mnt)}`)).toContain('newer');
    await ok(`echo mount > ${q(`${m.root}/to-http.txt`)}`);
    expect((await ns.getObject(ACCOUNT, CONTAINER, 'to-http.txt'))?.size).toBe(6);
  });

  it('symlinks round-trip', async () => {
    await ok(`cd ${q(m.root)} && echo target > t.txt && ln -s t.txt link`);
    expect(await ok(`readlink ${q(`${m.root}/link`)}`)).toBe('t.txt\n');
    expect(await ok(`cat ${q(`${m.root}/link`)}`)).toBe('target\n');
  });

  it('answers with the right errno', async () => {
    const r = m.root;
    await ok(`mkdir -p ${q(`${r}/full`)} && echo x > ${q(`${r}/full/f`)}`);
    expect(await errnoOf('rmdir $ARGV[0]', `${r}/full`)).toBe(ENOTEMPTY);
    expect(await errnoOf('mkdir $ARGV[0]', `${r}/full`)).toBe(EEXIST);
    expect(await errnoOf('open(my $f, "<", $ARGV[0])', `${r}/missing`)).toBe(ENOENT);
    expect(await errnoOf('rmdir $ARGV[0]', `${r}/full/f`)).toBe(ENOTDIR);
    expect(await errnoOf('unlink $ARGV[0]', `${r}/full`)).toBe(EISDIR);
    expect(await errnoOf('rename $ARGV[0], $ARGV[1]', `${r}/full/f`, `${m.mnt}/other/f`)).toBe(EXDEV);
    expect(await errnoOf('rmdir $ARGV[0]', `${m.mnt}/${CONTAINER}`)).toBe(ENOTEMPTY);
    // mv falls back to copy + delete across containers.
    await ok(`mv ${q(`${r}/full/f`)} ${q(`${m.mnt}/other/f`)} && cat ${q(`${m.mnt}/other/f`)}`);
  });

  it('reports a failed commit (quota) from close()', async () => {
    const ns = m.core.namespace;
    const used = (await ns.getAccount(ACCOUNT))?.bytesUsed ?? 0;
    await ns.updateAccount(ACCOUNT, { meta: { set: { 'quota-bytes': String(used + 1000) } } });
    try {
      const code = await errnoOf('open(F, ">", $ARGV[0]) and print(F "x" x 5000) and close(F)', `${m.root}/too-big`);
      expect(code).toBe(EDQUOT);
      // statfs reports the quota: blocks of 1 MiB, total = quota rounded down.
      expect(await ok(`stat -f -c '%S %b' ${q(m.root)}`)).toBe(`1048576 ${Math.floor((used + 1000) / 1048576)}\n`);
    } finally {
      await ns.updateAccount(ACCOUNT, { meta: { remove: ['quota-bytes'] } });
    }
    expect(await ns.getObject(ACCOUNT, CONTAINER, 'too-big')).toBeUndefined();
  });
});
