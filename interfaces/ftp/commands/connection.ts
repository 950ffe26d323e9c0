/** Connection-level commands: features, options, TLS (RFC 2228/4217), status, QUIT. */
import { FtpReply, reply } from '../replies.ts';
import type { CommandSpec, Session } from '../session.ts';
import { listLine } from '../listing.ts';
import { formatPath } from '../paths.ts';

function feat(s: Session): void {
  const lines = ['Features:'];
  if (s.ctx.secureContext) lines.push('AUTH TLS', 'PBSZ', 'PROT');
  lines.push('EPRT', 'EPSV', 'PASV', 'MDTM', 'SIZE', 'REST STREAM', 'MLST type*;size*;modify*;perm*;', 'TVFS', 'UTF8', 'End');
  s.send(211, lines);
}

function opts(s: Session, arg: string): void {
  const [name = '', value = ''] = arg.trim().split(/\s+/, 2);
  const opt = name.toUpperCase();
  if (opt === 'UTF8' || opt === 'UTF-8') {
    if (value.toUpperCase() === 'OFF') throw new FtpReply(504, 'UTF8 cannot be turned off; names are UTF-8.');
    s.send(200, 'UTF8 mode on.');
    return;
  }
  if (opt === 'MLST') {
    s.send(200, 'MLST OPTS type;size;modify;perm;');
    return;
  }
  throw new FtpReply(501, `Option ${opt.slice(0, 16)} not understood.`);
}

function auth(s: Session, arg: string): void {
  const mech = arg.trim().toUpperCase();
  if (mech !== 'TLS' && mech !== 'SSL' && mech !== 'TLS-C') {
    throw new FtpReply(504, `AUTH ${mech.slice(0, 8)} not supported; use AUTH TLS.`);
  }
  s.upgradeToTls();
}

function pbsz(s: Session, arg: string): void {
  if (!s.secure) throw reply.badSequence('PBSZ needs AUTH TLS first.');
  if (!/^\d+$/.test(arg.trim())) throw reply.syntax('PBSZ takes a number.');
  s.pbsz = true;
  s.send(200, 'PBSZ=0');
}

function prot(s: Session, arg: string): void {
  if (!s.secure) throw reply.badSequence('PROT needs AUTH TLS first.');
  if (!s.pbsz) throw reply.badSequence('PROT needs PBSZ first.');
  const level = arg.trim().toUpperCase();
  if (level === 'P' || level === 'C') {
    s.protectData = level === 'P';
    s.send(200, `Protection level set to ${level}.`);
    return;
  }
  throw new FtpReply(536, `Protection level ${level.slice(0, 4)} not supported; use P or C.`);
}

function type(s: Session, arg: string): void {
  const t = arg.trim().toUpperCase().replace(/\s+/g, ' ');
  // As vsftpd by default: ASCII is accepted but transfers are byte-exact either way.
  if (t === 'I' || t === 'L 8') s.send(200, 'Type set to I.');
  else if (t === 'A' || t === 'A N') s.send(200, 'Type set to A.');
  else throw new FtpReply(504, `Type ${t.slice(0, 8)} not supported.`);
}

function onlyOne(what: string, value: string) {
  return (s: Session, arg: string): void => {
    if (arg.trim().toUpperCase() !== value) throw new FtpReply(504, `Only ${what} ${value} is supported.`);
    s.send(200, `${what} set to ${value}.`);
  };
}

async function stat(s: Session, arg: string): Promise<void> {
  if (s.transfer) {
    s.send(213, `Status: ${s.transfer.bytes} bytes transferred so far.`);
    return;
  }
  if (!arg.trim()) {
    const lines = [
      'swiftgate FTP status:',
      `Connected from ${s.remoteAddress}`,
      s.fs ? `Logged in as ${s.user}` : 'Not logged in',
      `Control connection ${s.secure ? 'TLS' : 'plain'}; data ${s.protectData ? 'TLS' : 'plain'}`,
      'End of status',
    ];
    s.send(211, lines);
    return;
  }
  const fs = s.requireFs();
  const path = s.resolve(arg.trim().replace(/^-\S*\s*/, ''));
  const entry = await fs.stat(path);
  if (!entry) throw reply.noSuchFile(formatPath(path));
  const lines = [`Status of ${formatPath(path)}:`];
  if (entry.kind === 'file') lines.push(listLine(entry));
  else for await (const e of fs.list(path)) lines.push(listLine(e));
  lines.push('End of status');
  s.send(213, lines);
}

function help(s: Session): void {
  s.send(214, [
    'Commands understood:',
    'ABOR APPE AUTH CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM MKD MLSD MLST MODE NLST NOOP',
    'OPTS PASS PASV PBSZ PORT PROT PWD QUIT REST RETR RMD RNFR RNTO SIZE STAT STOR STRU SYST TYPE USER',
    'Help OK.',
  ]);
}

function site(s: Session, arg: string): void {
  const sub = arg.trim().split(/\s+/, 1)[0]?.toUpperCase() ?? '';
  if (sub === 'HELP') {
    s.send(214, 'No SITE commands are supported.');
    return;
  }
  // No modes or times to set on objects; pretending a CHMOD/UTIME worked would mislead.
  throw new FtpReply(502, `SITE ${sub.slice(0, 8)} not supported.`);
}

async function quit(s: Session): Promise<void> {
  s.quitRequested = true;
  // RFC 959: an active transfer completes before the goodbye.
  if (s.transfer) await s.transfer.done;
  s.close(221, 'Goodbye.');
}

export const connectionCommands: Record<string, CommandSpec> = {
  FEAT: { run: feat, open: true },
  OPTS: { run: opts, open: true },
  AUTH: { run: auth, open: true },
  PBSZ: { run: pbsz, open: true },
  PROT: { run: prot, open: true },
  SYST: { run: (s) => s.send(215, 'UNIX Type: L8'), open: true },
  NOOP: { run: (s) => s.send(200, 'NOOP ok.'), open: true },
  HELP: { run: help, open: true },
  QUIT: { run: quit, open: true, urgent: true },
  STAT: { run: stat, open: true, urgent: true },
  CLNT: { run: (s) => s.send(200, 'Noted.'), open: true },
  TYPE: { run: type },
  MODE: { run: onlyOne('Mode', 'S') },
  STRU: { run: onlyOne('Structure', 'F') },
  ALLO: { run: (s) => s.send(202, 'No storage allocation necessary.') },
  SITE: { run: site },
};
