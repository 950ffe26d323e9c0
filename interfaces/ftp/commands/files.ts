/** Namespace changes and file facts: MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MLST. */
import { ftpTime, mlsxLine } from '../listing.ts';
import { formatPath } from '../paths.ts';
import { FtpReply, quotePath, reply } from '../replies.ts';
import type { CommandSpec, Session } from '../session.ts';

function need(arg: string, verb: string): string {
  if (!arg) throw reply.syntax(`${verb} needs a path.`);
  return arg;
}

async function mkd(s: Session, arg: string): Promise<void> {
  const path = s.resolve(need(arg, 'MKD'));
  await s.requireFs().mkdir(path);
  s.send(257, `${quotePath(formatPath(path))} created.`);
}

async function rmd(s: Session, arg: string): Promise<void> {
  const path = s.resolve(need(arg, 'RMD'));
  await s.requireFs().rmdir(path);
  if (s.cwd.length >= path.length && path.every((seg, i) => s.cwd[i] === seg)) s.cwd = path.slice(0, -1);
  s.send(250, `${formatPath(path)} removed.`);
}

async function dele(s: Session, arg: string): Promise<void> {
  const path = s.resolve(need(arg, 'DELE'));
  await s.requireFs().remove(path);
  s.send(250, `${formatPath(path)} deleted.`);
}

async function rnfr(s: Session, arg: string): Promise<void> {
  const path = s.resolve(need(arg, 'RNFR'));
  if (!(await s.requireFs().stat(path))) throw reply.noSuchFile(formatPath(path));
  s.renameFrom = path;
  s.send(350, 'Ready for RNTO.');
}

async function rnto(s: Session, arg: string): Promise<void> {
  const from = s.renameFrom;
  s.renameFrom = undefined;
  if (!from) throw reply.badSequence('RNFR first.');
  const to = s.resolve(need(arg, 'RNTO'));
  await s.requireFs().rename(from, to);
  s.send(250, `Renamed to ${formatPath(to)}.`);
}

async function size(s: Session, arg: string): Promise<void> {
  const obj = await s.requireFs().file(s.resolve(need(arg, 'SIZE')));
  s.send(213, String(obj.size));
}

async function mdtm(s: Session, arg: string): Promise<void> {
  // "MDTM 20240101000000 file" (setting the time) is an old overload we do not support.
  if (/^\d{14}\s/.test(arg)) throw new FtpReply(550, 'Setting modification times is not supported.');
  const fs = s.requireFs();
  const path = s.resolve(need(arg, 'MDTM'));
  const entry = await fs.stat(path);
  if (!entry) throw reply.noSuchFile(formatPath(path));
  if (entry.kind !== 'file') throw reply.notAFile(formatPath(path));
  s.send(213, ftpTime(entry.mtime));
}

async function mlst(s: Session, arg: string): Promise<void> {
  const path = arg ? s.resolve(arg) : s.cwd;
  const entry = await s.requireFs().stat(path);
  if (!entry) throw reply.noSuchFile(formatPath(path));
  // TVFS: the fact line names the full path.
  const shown = { ...entry, name: path.length ? formatPath(path) : '/' };
  s.send(250, [`Listing ${formatPath(path)}`, mlsxLine(shown), 'End']);
}

export const fileCommands: Record<string, CommandSpec> = {
  MKD: { run: mkd },
  XMKD: { run: mkd },
  RMD: { run: rmd },
  XRMD: { run: rmd },
  DELE: { run: dele },
  RNFR: { run: rnfr },
  RNTO: { run: rnto },
  SIZE: { run: size },
  MDTM: { run: mdtm },
  MLST: { run: mlst },
};
