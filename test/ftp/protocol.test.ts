/**
 * Protocol behaviour at the byte level: uploads that are cut off leave nothing, resumed
 * and appended uploads are exact, listings parse, errors are clear replies, and the
 * server's limits (passive range, connection cap, idle timeout, shutdown) hold.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type FtpFixture, startFixture } from './harness.ts';
import { RawFtp } from './raw-client.ts';

const ACME = 'AUTH_acme';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(25);
  }
  return cond();
}

describe('FTP protocol', () => {
  let f: FtpFixture;

  beforeAll(async () => {
    f = await startFixture();
    await f.core.namespace.createContainer(ACME, 'c');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('advertises UTF8 and accepts OPTS UTF8 ON; non-ASCII names round-trip', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    const feat = await c.cmd('FEAT');
    expect(feat.code).toBe(211);
    expect(feat.text).toMatch(/^ UTF8$/m);
    expect(feat.text).toMatch(/^ MLST /m);
    expect((await c.cmd('OPTS UTF8 ON')).code).toBe(200);
    const name = 'Ünïcödé 日本語 ✓.txt';
    expect((await c.cmd('MKD /c/répertoire')).code).toBe(257);
    expect((await c.write(`STOR /c/répertoire/${name}`, Buffer.from('x'))).last?.code).toBe(226);
    expect(await f.core.namespace.getObject(ACME, 'c', `répertoire/${name}`)).toBeDefined();
    const nlst = await c.read('NLST /c/répertoire');
    expect(nlst.data.toString('utf8')).toBe(`/c/répertoire/${name}\r\n`);
    expect((await c.cmd('CWD /c/répertoire')).code).toBe(250);
    expect((await c.cmd('PWD')).text).toBe('257 "/c/répertoire" is the current directory.');
    await c.quit();
  });

  it('MLSD and MLST facts parse (RFC 3659); SIZE and MDTM answer', async () => {
    const ns = f.core.namespace;
    await ns.putObject(ACME, 'c', 'm/a.bin', Readable.from([Buffer.alloc(1234)]), { contentType: 'x' });
    await ns.makeDirectory(ACME, 'c', 'm/sub');
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    const r = await c.read('MLSD /c/m');
    expect(r.last?.code).toBe(226);
    const entries = r.data
      .toString()
      .split('\r\n')
      .filter(Boolean)
      .map((line) => {
        const sp = line.indexOf(' ');
        const facts = Object.fromEntries(line.slice(0, sp).split(';').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
        return { name: line.slice(sp + 1), facts };
      });
    expect(entries.map((e) => e.name).sort()).toEqual(['a.bin', 'sub']);
    const file = entries.find((e) => e.name === 'a.bin');
    expect(file?.facts).toMatchObject({ type: 'file', size: '1234', perm: 'rwadf' });
    expect(file?.facts.modify).toMatch(/^\d{14}$/);
    expect(entries.find((e) => e.name === 'sub')?.facts.type).toBe('dir');
    const mlst = await c.cmd('MLST /c/m/a.bin');
    expect(mlst.code).toBe(250);
    expect(mlst.text.split('\n')[1]).toMatch(/^ type=file;size=1234;modify=\d{14};perm=rwadf; \/c\/m\/a\.bin$/);
    expect(await c.cmd('SIZE /c/m/a.bin')).toMatchObject({ code: 213, text: '213 1234' });
    expect((await c.cmd('SIZE /c/m/sub')).code).toBe(550);
    expect((await c.cmd('MDTM /c/m/a.bin')).text).toMatch(/^213 \d{14}$/);
    expect((await c.read('MLSD /c/m/a.bin')).first.code).toBe(501);
    const list = await c.read('LIST -la /c/m');
    expect(list.data.toString()).toMatch(/^-rw-r--r-- +1 ftp +ftp +1234 \w{3} \d{2} \d{2}:\d{2} a\.bin\r$/m);
    expect(list.data.toString()).toMatch(/^drwxr-xr-x +1 ftp +ftp +0 .* sub\r$/m);
    await c.quit();
  });

  it('RMD removes empty directories and containers, and explains when not empty', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    expect((await c.cmd('MKD /rmtest')).code).toBe(257);
    expect((await c.cmd('MKD /rmtest')).code).toBe(550);
    expect((await c.cmd('MKD /rmtest/d')).code).toBe(257);
    expect((await c.write('STOR /rmtest/d/f.txt', Buffer.from('x'))).last?.code).toBe(226);
    const notEmpty = await c.cmd('RMD /rmtest/d');
    expect(notEmpty.code).toBe(550);
    expect(notEmpty.text).toMatch(/not empty/i);
    const containerNotEmpty = await c.cmd('RMD /rmtest');
    expect(containerNotEmpty.code).toBe(550);
    expect(containerNotEmpty.text).toMatch(/not empty/i);
    expect((await c.cmd('RMD /rmtest/d/f.txt')).code).toBe(550);
    expect((await c.cmd('DELE /rmtest/d')).code).toBe(550);
    expect((await c.cmd('DELE /rmtest/d/f.txt')).code).toBe(250);
    expect((await c.cmd('RMD /rmtest/d')).code).toBe(250);
    expect((await c.cmd('RMD /rmtest')).code).toBe(250);
    expect(await f.core.namespace.getContainer(ACME, 'rmtest')).toBeUndefined();
    expect((await c.cmd('STOR /toplevel.txt')).code).toBe(553);
    await c.quit();
  });

  it('renames files and directories; refuses what the core cannot do', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    await c.write('STOR /c/r/one.txt', Buffer.from('1'));
    await c.write('STOR /c/r/deep/two.txt', Buffer.from('2'));
    expect((await c.cmd('RNFR /c/r/one.txt')).code).toBe(350);
    expect((await c.cmd('RNTO /c/r/uno.txt')).code).toBe(250);
    expect((await c.cmd('RNFR /c/r')).code).toBe(350);
    expect((await c.cmd('RNTO /c/r2')).code).toBe(250);
    expect(await f.core.namespace.getObject(ACME, 'c', 'r2/deep/two.txt')).toBeDefined();
    expect((await c.cmd('RNFR /c')).code).toBe(350);
    expect((await c.cmd('RNTO /c3')).code).toBe(553);
    expect((await c.cmd('RNTO /c/x')).code).toBe(503);
    expect((await c.cmd('RNFR /c/nothing')).code).toBe(550);
    // A file may move to another container (copy + delete).
    await c.cmd('MKD /other');
    expect((await c.cmd('RNFR /c/r2/uno.txt')).code).toBe(350);
    expect((await c.cmd('RNTO /other/uno.txt')).code).toBe(250);
    expect(await f.core.namespace.getObject(ACME, 'c', 'r2/uno.txt')).toBeUndefined();
    expect(await f.core.namespace.getObject(ACME, 'other', 'uno.txt')).toBeDefined();
    await c.quit();
  });

  it('REST + STOR resumes an upload, APPE appends, and a bad offset is refused', async () => {
    const body = randomBytes(300_000);
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    expect((await c.write('STOR /c/resume.bin', body.subarray(0, 100_000))).last?.code).toBe(226);
    expect((await c.cmd('REST 100000')).code).toBe(350);
    expect((await c.write('STOR /c/resume.bin', body.subarray(100_000, 200_000))).last?.code).toBe(226);
    expect((await c.write('APPE /c/resume.bin', body.subarray(200_000))).last?.code).toBe(226);
    const back = await c.read('RETR /c/resume.bin');
    expect(back.data.equals(body)).toBe(true);
    expect((await c.cmd('REST 999999999')).code).toBe(350);
    expect((await c.write('STOR /c/resume.bin', Buffer.from('x'))).first.code).toBe(554);
    expect((await c.cmd('REST 5')).code).toBe(350);
    expect((await c.write('STOR /c/missing.bin', Buffer.from('x'))).first.code).toBe(550);
    expect((await c.cmd('REST 250000')).code).toBe(350);
    const tail = await c.read('RETR /c/resume.bin');
    expect(tail.data.equals(body.subarray(250_000))).toBe(true);
    expect((await c.cmd('REST -1')).code).toBe(501);
    await c.quit();
  });

  it('a data connection reset mid-STOR leaves no object', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    const data = await c.dataConnection();
    expect((await c.cmd('STOR /c/dropped.bin')).code).toBe(150);
    data.write(randomBytes(1024 * 1024));
    await sleep(100);
    data.resetAndDestroy();
    const r = await c.next();
    expect(r.code).toBe(426);
    await c.quit();
    expect(await f.core.namespace.getObject(ACME, 'c', 'dropped.bin')).toBeUndefined();
  });

  it('a client that disappears mid-STOR (both sockets closed) leaves no object', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    const data = await c.dataConnection();
    expect((await c.cmd('STOR /c/vanished.bin')).code).toBe(150);
    data.write(randomBytes(512 * 1024));
    await sleep(100);
    // What the kernel does when a client process dies: FIN on both connections at once.
    data.end();
    c.sock.end();
    await sleep(500);
    expect(await f.core.namespace.getObject(ACME, 'c', 'vanished.bin')).toBeUndefined();
  });

  it('killing curl mid-STOR of a large stream leaves no object', async () => {
    const [name, account] = ['admin', 'acme'];
    const curlProc = spawn('curl', ['-sS', '-u', `${name}@${account}:${ADMIN.key}`, '-T', '-', `ftp://127.0.0.1:${f.port}/c/killed.bin`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const chunk = randomBytes(256 * 1024);
    let sent = 0;
    const pump = setInterval(() => {
      if (curlProc.stdin.writable) {
        curlProc.stdin.write(chunk);
        sent += chunk.length;
      }
    }, 10);
    await until(async () => sent > 8 * 1024 * 1024, 10_000);
    curlProc.kill('SIGKILL');
    clearInterval(pump);
    await new Promise((r) => curlProc.once('exit', r));
    curlProc.stdin.destroy();
    await sleep(500);
    expect(await f.core.namespace.getObject(ACME, 'c', 'killed.bin')).toBeUndefined();
  });

  it('ABOR during STOR answers 426 then 226 and stores nothing', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    const data = await c.dataConnection();
    expect((await c.cmd('STOR /c/aborted.bin')).code).toBe(150);
    data.write(randomBytes(256 * 1024));
    await sleep(100);
    c.sock.write('ABOR\r\n');
    expect((await c.next()).code).toBe(426);
    expect((await c.next()).code).toBe(226);
    expect((await c.cmd('NOOP')).code).toBe(200);
    await c.quit();
    expect(await f.core.namespace.getObject(ACME, 'c', 'aborted.bin')).toBeUndefined();
  });

  it('answers unknown, malformed and out-of-order commands with clear codes', async () => {
    const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
    expect((await c.cmd('XYZZY')).code).toBe(502);
    expect((await c.cmd('RETR')).code).toBe(501);
    expect((await c.cmd('PORT 1,2,3')).code).toBe(501);
    expect((await c.cmd('PORT 10,0,0,99,200,10')).code).toBe(501); // not the client's address
    expect((await c.cmd('RETR /c/nothing')).code).toBe(550);
    expect((await c.cmd('RETR /c')).code).toBe(550);
    expect((await c.cmd('TYPE Q')).code).toBe(504);
    expect((await c.cmd('PBSZ 0')).code).toBe(503);
    expect((await c.cmd('AUTH TLS')).code).toBe(502); // no certificate configured here
    expect((await c.cmd('NOOP')).code).toBe(200);
    expect((await c.cmd(`CWD ${'x'.repeat(9000)}`)).code).toBe(500);
    expect((await c.cmd('STAT')).code).toBe(211);
    expect((await c.cmd('SYST')).text).toBe('215 UNIX Type: L8');
    expect((await c.cmd('HELP')).code).toBe(214);
    await c.quit();
  });

  it('uses any free port of the passive range, however busy the rest', async () => {
    const blockers: Server[] = [];
    for (let p = f.pasv.min; p < f.pasv.max; p++) {
      const s = createServer();
      await new Promise<void>((resolve) => {
        s.once('error', () => resolve());
        s.listen({ host: '127.0.0.1', port: p, exclusive: true }, () => resolve());
      });
      blockers.push(s);
    }
    try {
      const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
      for (let i = 0; i < 5; i++) {
        const r = await c.read('NLST /c');
        expect(r.last?.code).toBe(226);
        const pasv = await c.cmd('PASV');
        expect(pasv.text).toContain(`(127,0,0,1,${f.pasv.max >> 8},${f.pasv.max & 255})`);
        await c.cmd('ABOR');
      }
      await c.quit();
    } finally {
      for (const s of blockers) s.close();
    }
  });
});

describe('FTP server limits', () => {
  it('caps connections, times out idle sessions and shuts down cleanly', async () => {
    const f = await startFixture({
      tweak: (cfg) => {
        cfg.ftp.maxConnections = 2;
        cfg.ftp.idleTimeoutSeconds = 1;
      },
    });
    try {
      const a = await RawFtp.open(f.port);
      const b = await RawFtp.open(f.port);
      const refused = await new Promise<string>((resolve) => {
        import('node:net').then(({ connect }) => {
          const s = connect({ port: f.port, host: '127.0.0.1' });
          let got = '';
          s.on('data', (d) => (got += d.toString()));
          s.on('close', () => resolve(got));
          s.on('error', () => undefined);
        });
      });
      expect(refused).toMatch(/^421 /);
      // Idle for more than a second: the server says goodbye.
      expect((await a.next(5000)).code).toBe(421);
      expect((await b.next(5000)).code).toBe(421);
      await a.quit();
      await b.quit();
      await sleep(200); // the server notices the closes
      const c = await RawFtp.login(f.port, ADMIN.name, ADMIN.key);
      const closing = f.ftp.close();
      expect((await c.next(5000)).code).toBe(421);
      await closing;
    } finally {
      await f.close().catch(() => undefined);
    }
  });
});
