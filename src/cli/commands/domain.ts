/** `swiftgate domain add|list|remove`: custom domains served from a container's root. */
import type { Command } from '../args.ts';
import { withCore } from '../with-core.ts';


export const domainAddCommand: Command = {
  name: 'domain add',
  summary: 'Serve a container at the root of a domain (http://DOMAIN/object)',
  usage: 'swiftgate domain add DOMAIN AUTH_account/container [--data DIR]',
  async run(ctx) {
    const [domain, target] = ctx.positionals;
    const m = target ? /^([^/]+)\/([^/]+)$/.exec(target) : null;
    if (!domain || !m) {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const rec = await withCore(ctx, (core) => core.domains.add(domain, m[1] as string, m[2] as string));
    ctx.out(`${rec.domain} → ${rec.account}/${rec.container}`);
    return 0;
  },
};

export const domainListCommand: Command = {
  name: 'domain list',
  summary: 'List custom domains',
  usage: 'swiftgate domain list [AUTH_account] [--data DIR]',
  async run(ctx) {
    const list = await withCore(ctx, (core) => core.domains.list(ctx.positionals[0]));
    for (const d of list) ctx.out(`${d.domain}\t${d.account}/${d.container}`);
    return 0;
  },
};

export const domainRemoveCommand: Command = {
  name: 'domain remove',
  summary: 'Stop serving a custom domain',
  usage: 'swiftgate domain remove DOMAIN [--data DIR]',
  async run(ctx) {
    const domain = ctx.positionals[0];
    if (!domain) {
      ctx.err(`Usage: ${this.usage}`);
      return 2;
    }
    const removed = await withCore(ctx, (core) => core.domains.remove(domain));
    if (!removed) {
      ctx.err(`no such domain ${domain}`);
      return 1;
    }
    ctx.out(`removed ${domain}`);
    return 0;
  },
};
