/** USER/PASS: the Swift credentials (`account:user` or `user@account`, key as password). */
import { makeIdentity } from '../../../auth/identity.ts';
import { AccountFs } from '../account-fs.ts';
import { ROOT } from '../paths.ts';
import { FtpReply } from '../replies.ts';
import type { CommandSpec, Session } from '../session.ts';

const MAX_FAILED_LOGINS = 3;

/** "acct:user" → {acct, user}; "user@acct" → {acct, user}; anything else → undefined. */
export function parseLogin(name: string): { account: string; user: string } | undefined {
  const colon = name.indexOf(':');
  if (colon > 0 && colon < name.length - 1) return { account: name.slice(0, colon), user: name.slice(colon + 1) };
  const at = name.lastIndexOf('@');
  if (at > 0 && at < name.length - 1) return { account: name.slice(at + 1), user: name.slice(0, at) };
  return undefined;
}

function user(s: Session, arg: string): void {
  if (s.busy) throw new FtpReply(503, 'Wait for the transfer to finish.');
  s.fs = undefined;
  s.cwd = ROOT;
  // Unknown or malformed names still get 331, so names cannot be probed.
  s.pendingUser = parseLogin(arg.trim()) ?? { account: '', user: '' };
  s.send(331, 'Password required (your Swift key).');
}

async function pass(s: Session, arg: string): Promise<void> {
  const who = s.pendingUser;
  if (!who) throw new FtpReply(503, 'Login with USER first.');
  s.pendingUser = undefined;
  const record = who.account && who.user ? await s.ctx.users.verify(who.account, who.user, arg) : undefined;
  if (!record) {
    s.failedLogins++;
    if (s.failedLogins >= MAX_FAILED_LOGINS) {
      s.close(421, 'Too many failed logins.');
      return;
    }
    throw new FtpReply(530, 'Login incorrect.');
  }
  s.fs = new AccountFs(s.ctx.namespace, makeIdentity(record));
  s.cwd = ROOT;
  s.send(230, `Logged in as ${who.account}:${who.user}.`);
}

export const loginCommands: Record<string, CommandSpec> = {
  USER: { run: user, open: true },
  PASS: { run: pass, open: true },
};
