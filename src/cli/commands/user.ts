/** `swiftgate user add|list|remove`: works on a stopped data dir, or through a running server. */
import type { Command } from '../args.ts';
import { withCore } from '../with-core.ts';

function splitUser(spec: string | undefined): { account: string; user: string } | undefined {
  if (!spec) return undefined;
  const i = spec.indexOf(':');
  if (i <= 0 || i === spec.length - 1) return undefined;
  return { account: spec.slice(0, i), user: spec.slice(i + 1) };
}


export const userAddCommand: Command = {
  name: 'user add',
  summary: 'Create a user (or replace its key with --replace)',
  usage: 'swiftgate user add ACCOUNT:USER --key KEY [--admin] [--reseller-admin] [--group G]... [--replace] [--data DIR]',
  options: {
    key: { type: 'string', short: 'k' },
    admin: { type: 'boolean' },
    'reseller-admin': { type: 'boolean' },
    group: { type: 'string', multiple: true },
    replace: { type: 'boolean' },
  },
  async run(ctx) {
    const who = splitUser(ctx.positionals[0]);
    const key = ctx.values.key;
    if (!who || typeof key !== 'string' || key === '') {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const view = await withCore(ctx, (core) =>
      core.users.addUser({
        ...who,
        key,
        admin: ctx.values.admin === true,
        resellerAdmin: ctx.values['reseller-admin'] === true,
        groups: (ctx.values.group as string[] | undefined) ?? [],
        replace: ctx.values.replace === true,
      }),
    );
    ctx.out(`added ${view.account}:${view.user} (storage account ${view.storageAccount}${view.groups.length ? `, groups ${view.groups.join(',')}` : ''})`);
    return 0;
  },
};

export const userListCommand: Command = {
  name: 'user list',
  summary: 'List users (never their keys)',
  usage: 'swiftgate user list [ACCOUNT] [--json] [--data DIR]',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const users = await withCore(ctx, (core) => core.users.listUsers(ctx.positionals[0]));
    if (ctx.values.json) ctx.out(JSON.stringify(users, null, 2));
    else for (const u of users) ctx.out(`${u.account}:${u.user}\t${u.storageAccount}\t${u.groups.join(',')}`);
    return 0;
  },
};

export const userRemoveCommand: Command = {
  name: 'user remove',
  summary: 'Remove a user and revoke its tokens',
  usage: 'swiftgate user remove ACCOUNT:USER [--data DIR]',
  async run(ctx) {
    const who = splitUser(ctx.positionals[0]);
    if (!who) {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const removed = await withCore(ctx, (core) => core.users.removeUser(who.account, who.user));
    if (!removed) {
      ctx.err(`no such user ${who.account}:${who.user}`);
      return 1;
    }
    ctx.out(`removed ${who.account}:${who.user}`);
    return 0;
  },
};
