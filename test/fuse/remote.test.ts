/**
 * Remote mode on a real mount: `swiftgate mount --remote` (a child process) over a
 * swiftgate gateway's HTTP API, driven with coreutils — the local-mode POSIX checks
 * where they apply, plus what is remote-specific: changes made through the API show
 * after the cache TTL, quota errors arrive at close(), statfs from the account HEAD.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseSkipReason, ok, q, sh } from './helpers.ts';
import { R_ACCOUNT, R_CONTAINER, type RemoteMounted, apiToken, mountRemoteForTest } from './remote-helpers.ts';

const skip = fuseSkipReason();
if (skip) console.warn(`FUSE tests skipped: ${skip}`);

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
const TTL_WAIT_MS = 1300;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe.skipIf(skip !== undefined)('fuse remote mount: POSIX over the Swift API', () => {
  let m: RemoteMounted;
  beforeAll(async () => {
    m = await mountRemoteForTest();
  });
  afterAll(async () => {
    await m?.close();
  });
  const ns = () => m.gw.core.namespace;

  it('writes, reads and lists files; the object is there over the API', async () => {
    await ok(`echo hello > ${q(`${m.root}/a.txt`)}`);
    expect(await ok(`cat ${q(`${m.root}/a.txt`)}`)).toBe('hello\n');
    expect(await ok(`ls ${q(m.root)}`)).toContain('a.txt');
    expect(await ok(`ls ${q(m.mnt)}`)).toBe(`${R_CONTAINER}\nother\n`);
    const rec = await ns().getObject(R_ACCOUNT, R_CONTAINER, 'a.txt');
    expect(rec?.size).toBe(6);
    expect(rec?.contentType).toBe('text/plain');
  });

  it('keeps empty directories as application/directory markers', async () => {
    await ok(`mkdir ${q(`${m.root}/empty`)} && ls -la ${q(`${m.root}/empty`)}`);
    expect(await ok(`ls ${q(m.root)}`)).toContain('empty');
    const marker = await ns().getObject(R_ACCOUNT, R_CONTAINER, 'empty/');
    expect(marker?.contentType).toBe('application/directory');
    expect(marker?.size).toBe(0);
    // An implicit directory (no marker) stays when its last file is removed here.
    await ns().putObject(R_ACCOUNT, R_CONTAINER, 'implicit/only.txt', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
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
    await ok(`echo tail >> ${f} && echo tail >> ${local} && truncate -s 2000000 ${f} && truncate -s 2000000 ${local}`);
    expect(await ok(`cmp ${f} ${local} && stat -c %s ${f}`)).toBe('2000000\n');
    // The server checked the bytes against the ETag the mount sent.
    const rec = await ns().getObject(R_ACCOUNT, R_CONTAINER, 'rand.bin');
    expect(rec?.etag).toBe((await ok(`md5sum < ${local}`)).split(' ')[0]);
  });

  it('keeps mode and mtime as object metadata', async () => {
    const f = `${m.root}/times.txt`;
    await ok(`echo t > ${q(f)} && touch -d '2020-01-02 03:04:05.250' ${q(f)} && chmod 640 ${q(f)}`);
    expect(await ok(`stat -c '%Y %a' ${q(f)}`)).toBe('1577934245 640\n');
    const rec = await ns().getObject(R_ACCOUNT, R_CONTAINER, 'times.txt');
    expect(rec?.meta.mtime).toBe('1577934245.250');
    expect(rec?.meta.mode).toBe('640');
    await ok(`cp -p ${q(f)} ${q(`${m.root}/times-copy.txt`)}`);
    expect(await ok(`stat -c '%Y %a' ${q(`${m.root}/times-copy.txt`)}`)).toBe('1577934245 640\n');
  });

  it('shows changes made through the API after the cache TTL', async () => {
    const { token, storageUrl } = await apiToken(m.url);
    const put = (name: string, body: string) =>
      fetch(`${storageUrl}/${R_CONTAINER}/${name}`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'text/plain' }, body });
    expect((await put('from-api/x.txt', 'one')).status).toBe(201);
    await sleep(TTL_WAIT_MS);
    expect(await ok(`cat ${q(`${m.root}/from-api/x.txt`)}`)).toBe('one');
    expect((await put('from-api/x.txt', 'second')).status).toBe(201);
    await sleep(TTL_WAIT_MS);
    expect(await ok(`cat ${q(`${m.root}/from-api/x.txt`)}`)).toBe('second');
    expect(await ok(`ls ${q(`${m.root}/from-api`)}`)).toBe('x.txt\n');
    await fetch(`${storageUrl}/${R_CONTAINER}/from-api/x.txt`, { method: 'DELETE', headers: { 'x-auth-token': token } });
    await sleep(TTL_WAIT_MS);
    expect((await sh(`cat ${q(`${m.root}/from-api/x.txt`)}`)).code).not.toBe(0);
    await ns().createContainer(R_ACCOUNT, 'newer');
    await sleep(TTL_WAIT_MS);
    expect(await ok(`ls ${q(m.mnt)}`)).toContain('newer');
  });

  it('symlinks round-trip', async () => {
    await ok(`cd ${q(m.root)} && echo target > t.txt && ln -s t.txt link`);
    expect(await ok(`readlink ${q(`${m.root}/link`)}`)).toBe('t.txt\n');
    expect(await ok(`cat ${q(`${m.root}/link`)}`)).toBe('target\n');
    expect((await ns().getObject(R_ACCOUNT, R_CONTAINER, 'link'))?.contentType).toBe('application/x-symlink');
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
    // A non-empty container: the server's 409 is ENOTEMPTY.
    expect(await errnoOf('rmdir $ARGV[0]', `${m.mnt}/${R_CONTAINER}`)).toBe(ENOTEMPTY);
    await ok(`mv ${q(`${r}/full/f`)} ${q(`${m.mnt}/other/f`)} && cat ${q(`${m.mnt}/other/f`)}`);
  });

  it('reports a failed commit (quota, 413) from close() and statfs from the account HEAD', async () => {
    const used = (await ns().getAccount(R_ACCOUNT))?.bytesUsed ?? 0;
    await ns().updateAccount(R_ACCOUNT, { meta: { set: { 'quota-bytes': String(used + 1000) } } });
    try {
      const code = await errnoOf('open(F, ">", $ARGV[0]) and print(F "x" x 5000) and close(F)', `${m.root}/too-big`);
      expect(code).toBe(EDQUOT);
      expect(await ok(`stat -f -c '%S %b' ${q(m.root)}`)).toBe(`1048576 ${Math.floor((used + 1000) / 1048576)}\n`);
    } finally {
      await ns().updateAccount(R_ACCOUNT, { meta: { remove: ['quota-bytes'] } });
    }
    expect(await ns().getObject(R_ACCOUNT, R_CONTAINER, 'too-big')).toBeUndefined();
  });
});
