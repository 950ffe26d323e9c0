/**
 * FTP grants exactly what the Swift API grants: login with Swift credentials, a
 * read-only ACL user can read but not write, accounts are invisible to each other, and
 * no path (relative, absolute, `..`, "encoded") leaves the user's account.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, curl, type FtpFixture, OTHER, READER, startFixture } from './harness.ts';
import { RawFtp } from './raw-client.ts';

const ACME = 'AUTH_acme';

describe('FTP access control', () => {
  let f: FtpFixture;

  beforeAll(async () => {
    f = await startFixture();
    const ns = f.core.namespace;
    await ns.createContainer(ACME, 'shared', { readAcl: 'acme:reader' });
    await ns.createContainer(ACME, 'private');
    await ns.putObject(ACME, 'shared', 'docs/readme.txt', Readable.from([Buffer.from('hello reader\n')]), { contentType: 'text/plain' });
    await ns.putObject(ACME, 'private', 'secret.txt', Readable.from([Buffer.from('top secret\n')]), { contentType: 'text/plain' });
    await ns.createContainer('AUTH_other', 'bobs');
    await ns.putObject('AUTH_other', 'bobs', 'bob.txt', Readable.from([Buffer.from('bob\n')]), { contentType: 'text/plain' });
  });
  afterAll(async () => {
    await f?.close();
  });

  it('logs in as account:user and as user@account; refuses anonymous and wrong keys', async () => {
    for (const name of ['acme:admin', 'admin@acme']) {
      const c = await RawFtp.open(f.port);
      expect((await c.cmd(`USER ${name}`)).code).toBe(331);
      expect((await c.cmd(`PASS ${ADMIN.key}`)).code).toBe(230);
      await c.quit();
    }
    const c = await RawFtp.open(f.port);
    await c.cmd('USER anonymous');
    expect((await c.cmd('PASS guest@example.com')).code).toBe(530);
    await c.cmd('USER acme:admin');
    expect((await c.cmd('PASS wrong')).code).toBe(530);
    expect((await c.cmd('PWD')).code).toBe(530);
    expect((await c.cmd('LIST')).code).toBe(530);
    await c.quit();
  });

  it('lets a read-only ACL user download but not upload, mkdir, rename or delete', async () => {
    const c = await RawFtp.login(f.port, READER.name, READER.key);
    const list = await c.read('NLST');
    expect(list.data.toString().split('\r\n').filter(Boolean)).toEqual(['shared']); // not "private"
    const got = await c.read('RETR /shared/docs/readme.txt');
    expect(got.last?.code).toBe(226);
    expect(got.data.toString()).toBe('hello reader\n');
    const put = await c.write('STOR /shared/docs/new.txt', Buffer.from('nope'));
    expect(put.first.code).toBe(550);
    expect((await c.cmd('MKD /shared/newdir')).code).toBe(550);
    expect((await c.cmd('MKD /newcontainer')).code).toBe(550);
    expect((await c.cmd('DELE /shared/docs/readme.txt')).code).toBe(550);
    expect((await c.cmd('RNFR /shared/docs/readme.txt')).code).toBe(350);
    expect((await c.cmd('RNTO /shared/docs/moved.txt')).code).toBe(550);
    expect((await c.cmd('RMD /shared')).code).toBe(550);
    expect((await c.cmd('RETR /private/secret.txt')).code).toBe(550);
    expect((await c.cmd('CWD /private')).code).toBe(550);
    await c.quit();
    expect(await f.core.namespace.getObject(ACME, 'shared', 'docs/new.txt')).toBeUndefined();
    expect(await f.core.namespace.getObject(ACME, 'shared', 'docs/readme.txt')).toBeDefined();
    // curl sees the same refusal.
    const r = await curl(f.port, READER, '/shared/docs/curl.txt', ['-T', '/etc/hostname']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/550|denied/i);
  });

  it('never shows another account', async () => {
    const c = await RawFtp.login(f.port, OTHER.name, OTHER.key);
    const root = await c.read('NLST');
    expect(root.data.toString().split('\r\n').filter(Boolean)).toEqual(['bobs']);
    expect((await c.cmd('CWD /shared')).code).toBe(550);
    expect((await c.cmd('SIZE /private/secret.txt')).code).toBe(550);
    expect((await c.read('RETR /acme/private/secret.txt')).first.code).toBe(550);
    expect((await c.read('RETR /AUTH_acme/private/secret.txt')).first.code).toBe(550);
    await c.quit();
  });

  it('keeps .., absolute and encoded paths inside the account', async () => {
    const c = await RawFtp.login(f.port, OTHER.name, OTHER.key);
    expect((await c.cmd('CWD ../../..')).code).toBe(250);
    expect((await c.cmd('PWD')).text).toContain('"/"');
    expect((await c.cmd('CWD /../../../etc')).code).toBe(550);
    expect((await c.cmd('CDUP')).code).toBe(250);
    expect((await c.cmd('PWD')).text).toContain('"/"');
    for (const p of ['../../AUTH_acme/private/secret.txt', '/../AUTH_acme/private/secret.txt', '%2e%2e/%2e%2e/private/secret.txt', '..%2f..%2fprivate/secret.txt', '/etc/passwd', '..\\..\\private\\secret.txt']) {
      expect((await c.cmd(`SIZE ${p}`)).code, p).toBe(550);
      expect((await c.read(`RETR ${p}`)).first.code, p).toBe(550);
    }
    expect((await c.cmd('CWD bobs/../../..')).code).toBe(250);
    const listing = await c.read('NLST');
    expect(listing.data.toString().split('\r\n').filter(Boolean)).toEqual(['bobs']);
    expect((await c.cmd('RETR bad\0name')).code).toBeGreaterThanOrEqual(500);
    await c.quit();
  });
});
