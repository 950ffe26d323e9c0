/**
 * `swiftgate mount MOUNTPOINT`: a FUSE view of one account (containers are the top-level
 * directories) or of one container. Local mode: the core is opened in this process —
 * directly when no server runs, else through the running server's metadata host — so
 * changes over HTTP/FTP show in the mount at once. Remote mode (`--remote URL` or
 * `--token` + `--storage-url`): a Swift endpoint over HTTP, no data dir needed. Runs
 * until SIGINT/SIGTERM, then commits open files and unmounts.
 */
import { openCoreForCommand } from '../../core.ts';
import type { RunningView } from '../../server.ts';
import { untilSignal } from '../../signals.ts';
import type { Command, CommandContext } from '../args.ts';

function splitUser(spec: string): { account: string; user: string } | undefined {
  const i = spec.indexOf(':');
  return i > 0 && i < spec.length - 1 ? { account: spec.slice(0, i), user: spec.slice(i + 1) } : undefined;
}

function seconds(v: string | boolean | string[] | undefined, name: string): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} takes a number of seconds`);
  return n;
}

export const mountCommand: Command = {
  name: 'mount',
  summary: 'Mount an account (or one container) as a directory through FUSE',
  usage:
    'swiftgate mount MOUNTPOINT [--account AUTH_name | --user ACCOUNT:USER] [--container NAME] [--allow-other] ' +
    '[--attr-timeout SECONDS] [--entry-timeout SECONDS] [--debug] [--data DIR] [--config FILE]\n' +
    '       swiftgate mount MOUNTPOINT (--remote URL --user ACCOUNT:USER --key KEY | --token TOKEN --storage-url URL) ' +
    '[--container NAME] [--cache-ttl SECONDS] [--no-push] [--read-ahead BYTES] [--timeout SECONDS] [--allow-other] [--debug]',
  options: {
    account: { type: 'string', short: 'a' },
    user: { type: 'string', short: 'u' },
    container: { type: 'string' },
    'allow-other': { type: 'boolean' },
    'attr-timeout': { type: 'string' },
    'entry-timeout': { type: 'string' },
    debug: { type: 'boolean' },
    remote: { type: 'string' },
    key: { type: 'string' },
    token: { type: 'string' },
    'storage-url': { type: 'string' },
    'cache-ttl': { type: 'string' },
    'no-push': { type: 'boolean' },
    'read-ahead': { type: 'string' },
    timeout: { type: 'string' },
  },
  async run(ctx) {
    const mountpoint = ctx.positionals[0];
    if (!mountpoint || ctx.positionals.length > 1) {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const { mountLocal, mountRemote, FuseUnavailableError } = await import('../../../interfaces/fuse/index.ts');
    const attrTimeout = seconds(ctx.values['attr-timeout'], 'attr-timeout');
    const entryTimeout = seconds(ctx.values['entry-timeout'], 'entry-timeout');
    const v = ctx.values;
    if (typeof v.remote === 'string' || typeof v.token === 'string') {
      const str = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
      const ttl = seconds(v['cache-ttl'], 'cache-ttl');
      const timeout = seconds(v.timeout, 'timeout');
      const readAhead = str('read-ahead');
      if (readAhead !== undefined && !/^\d+$/.test(readAhead)) throw new Error('--read-ahead takes a number of bytes');
      return runMount(ctx, FuseUnavailableError, () =>
        mountRemote(
          mountpoint,
          {
            ...(str('remote') !== undefined ? { url: str('remote') } : {}),
            ...(str('user') !== undefined ? { user: str('user') } : {}),
            ...(str('key') !== undefined ? { key: str('key') } : {}),
            ...(str('token') !== undefined ? { token: str('token') } : {}),
            ...(str('storage-url') !== undefined ? { storageUrl: str('storage-url') } : {}),
            ...(ttl !== undefined ? { cacheTtlMs: ttl * 1000 } : {}),
            ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
            ...(readAhead !== undefined ? { readAheadBytes: Number(readAhead) } : {}),
            ...(v['no-push'] === true ? { push: false } : {}),
          },
          {
            ...(str('container') !== undefined ? { container: str('container') } : {}),
            ...(attrTimeout !== undefined ? { attrTimeout } : {}),
            ...(entryTimeout !== undefined ? { entryTimeout } : {}),
            allowOther: v['allow-other'] === true,
            debug: v.debug === true,
          },
        ),
      );
    }
    const config = ctx.config();
    const core = await openCoreForCommand(config);
    try {
      let account = typeof ctx.values.account === 'string' ? ctx.values.account : undefined;
      if (!account && typeof ctx.values.user === 'string') {
        const who = splitUser(ctx.values.user);
        const u = who ? await core.users.getUser(who.account, who.user) : undefined;
        if (!u) {
          ctx.err(`no such user ${ctx.values.user} (expected ACCOUNT:USER)`);
          return 1;
        }
        account = u.storageAccount;
      }
      return await runMount(ctx, FuseUnavailableError, () =>
        mountLocal(core, mountpoint, config, {
          ...(account ? { account } : {}),
          ...(typeof ctx.values.container === 'string' ? { container: ctx.values.container } : {}),
          ...(attrTimeout !== undefined ? { attrTimeout } : {}),
          ...(entryTimeout !== undefined ? { entryTimeout } : {}),
          allowOther: ctx.values['allow-other'] === true,
          debug: ctx.values.debug === true,
        }),
      );
    } finally {
      await core.close();
    }
  },
};

/** Mounts, runs until SIGINT/SIGTERM, unmounts. */
async function runMount(
  ctx: CommandContext,
  unavailable: new (...args: never[]) => Error,
  mount: () => Promise<RunningView>,
): Promise<number> {
  let view: RunningView;
  try {
    view = await mount();
  } catch (err) {
    if (err instanceof unavailable) {
      ctx.err(`swiftgate mount: ${err.message}`);
      return 1;
    }
    throw err;
  }
  ctx.out(`swiftgate fuse on ${view.address}; Ctrl-C or SIGTERM unmounts`);
  await untilSignal();
  ctx.err('unmounting');
  await view.close();
  return 0;
}
