/** Pure pieces of the FTP view: path resolution, reply/listing formats, control-line parsing. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseLogin } from './commands/login.ts';
import { ControlReader, stripTelnet } from './control-reader.ts';
import { ftpTime, listLine, mlsxLine } from './listing.ts';
import { formatPath, locate, resolvePath } from './paths.ts';
import { formatReply, quotePath, replyForError } from './replies.ts';
import { errors } from '../../src/core/errors.ts';

describe('paths', () => {
  it('never climbs above the account root', () => {
    expect(resolvePath(['c', 'd'], '../../../..')).toEqual([]);
    expect(resolvePath(['c'], '/../x/./y//z/..')).toEqual(['x', 'y']);
    expect(resolvePath([], '%2e%2e/a')).toEqual(['%2e%2e', 'a']); // a literal name, never decoded
    expect(() => resolvePath([], 'a\0b')).toThrow();
    expect(formatPath(['a', 'b c'])).toBe('/a/b c');
    expect(locate([])).toEqual({ kind: 'root' });
    expect(locate(['c'])).toEqual({ kind: 'container', container: 'c' });
    expect(locate(['c', 'd', 'e'])).toEqual({ kind: 'object', container: 'c', key: 'd/e' });
  });
});

describe('logins', () => {
  it('accepts account:user and user@account', () => {
    expect(parseLogin('acme:admin')).toEqual({ account: 'acme', user: 'admin' });
    expect(parseLogin('admin@acme')).toEqual({ account: 'acme', user: 'admin' });
    expect(parseLogin('a@b@acme')).toEqual({ account: 'acme', user: 'a@b' });
    expect(parseLogin('anonymous')).toBeUndefined();
    expect(parseLogin(':x')).toBeUndefined();
  });
});

describe('replies and listings', () => {
  it('formats single and multi-line replies and quotes paths', () => {
    expect(formatReply(200, ['ok'])).toBe('200 ok\r\n');
    expect(formatReply(211, ['Features:', 'UTF8', 'End'])).toBe('211-Features:\r\n UTF8\r\n211 End\r\n');
    expect(formatReply(550, ['a\r\nb'])).toBe('550 a b\r\n');
    expect(quotePath('/say "hi"')).toBe('"/say ""hi"""');
  });

  it('maps core errors in one place, never leaking internals', () => {
    expect(replyForError(errors.containerNotEmpty('c'))).toMatchObject({ code: 550, text: expect.stringMatching(/not empty/) });
    expect(replyForError(errors.quotaExceeded('Upload exceeds quota.')).code).toBe(552);
    expect(replyForError(errors.invalidName('bad')).code).toBe(553);
    expect(replyForError(new Error('secret stack'))).toMatchObject({ code: 451, unexpected: true });
    expect(replyForError(new Error('secret stack')).text).not.toContain('secret');
  });

  it('writes ls -l and MLSx lines', () => {
    const now = Date.UTC(2024, 5, 1);
    const e = { name: 'a b.txt', kind: 'file' as const, size: 42, mtime: new Date(Date.UTC(2024, 2, 5, 14, 22, 7)), canWrite: false };
    expect(listLine(e, now)).toBe('-r--r--r--    1 ftp      ftp                42 Mar 05 14:22 a b.txt');
    expect(listLine({ ...e, mtime: new Date(Date.UTC(2020, 0, 2)) }, now)).toMatch(/ Jan 02  2020 a b\.txt$/);
    expect(listLine({ ...e, kind: 'dir', canWrite: true }, now)).toMatch(/^drwxr-xr-x +1 ftp +ftp +0 /);
    expect(ftpTime(e.mtime)).toBe('20240305142207');
    expect(mlsxLine(e)).toBe('type=file;size=42;modify=20240305142207;perm=r; a b.txt');
  });
});

describe('control reader', () => {
  it('splits lines, strips Telnet commands, decodes UTF-8 and stops at AUTH', () => {
    const lines: string[] = [];
    const sock = new PassThrough();
    const reader = new ControlReader({ line: (l) => lines.push(l), overflow: () => lines.push('<overflow>') }, (l) => l.startsWith('AUTH'));
    reader.attach(sock);
    sock.write(Buffer.concat([Buffer.from('NOOP\r\n\xff\xf4\xff\xf2ABOR\r\nCWD ', 'latin1'), Buffer.from('répertoire\nAUTH TLS\r\n\x16\x03\x01', 'utf8')]));
    expect(lines).toEqual(['NOOP', 'ABOR', 'CWD répertoire', 'AUTH TLS']);
    expect(reader.detach()).toEqual(Buffer.from([0x16, 0x03, 0x01]));
    expect(stripTelnet(Buffer.from([0x41, 0xff, 0xff, 0x42, 0xff, 0xfb, 0x01, 0x43, 0x0d]))).toEqual(Buffer.from([0x41, 0xff, 0x42, 0x43]));
  });

  it('discards overlong lines and carries on', () => {
    const lines: string[] = [];
    const sock = new PassThrough();
    new ControlReader({ line: (l) => lines.push(l), overflow: () => lines.push('<overflow>') }, () => false).attach(sock);
    sock.write('X'.repeat(20_000));
    sock.write('\r\nNOOP\r\n');
    expect(lines).toEqual(['<overflow>', 'NOOP']);
  });
});
