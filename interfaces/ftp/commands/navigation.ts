/** Working directory: PWD, CWD, CDUP (and the X… aliases of RFC 775). */
import { formatPath } from '../paths.ts';
import { quotePath, reply } from '../replies.ts';
import type { CommandSpec, Session } from '../session.ts';

function pwd(s: Session): void {
  s.send(257, `${quotePath(formatPath(s.cwd))} is the current directory.`);
}

async function cwd(s: Session, arg: string): Promise<void> {
  if (!arg) throw reply.syntax('CWD needs a directory.');
  const path = s.resolve(arg);
  await s.requireFs().enter(path);
  s.cwd = path;
  s.send(250, `Directory changed to ${formatPath(path)}.`);
}

const cdup = (s: Session): Promise<void> => cwd(s, '..');

export const navigationCommands: Record<string, CommandSpec> = {
  PWD: { run: pwd },
  XPWD: { run: pwd },
  CWD: { run: cwd },
  XCWD: { run: cwd },
  CDUP: { run: cdup },
  XCUP: { run: cdup },
};
