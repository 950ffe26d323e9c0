/**
 * Swift's etag_quoter: object ETags go out RFC-quoted when the container (or else the
 * account) asked for it with X-*-Rfc-Compliant-Etags; off by default, as in Swift.
 */
import type { Ctx } from './context.ts';
import { SYSMETA } from './context.ts';
import type { HeaderList } from './response.ts';

export const ETAG_QUOTER_DEFAULT = false;

async function enabled(ctx: Ctx, account: string, container: string): Promise<boolean> {
  const ns = ctx.deps.namespace;
  const cont = await ns.getContainer(account, container);
  let flag = cont?.sysmeta[SYSMETA.rfcEtags];
  if (flag === undefined) flag = (await ns.getAccount(account))?.sysmeta[SYSMETA.rfcEtags];
  return flag === undefined ? ETAG_QUOTER_DEFAULT : flag.toLowerCase() === 'true';
}

/** Quotes the Etag header in place when the settings say so. */
export async function applyEtagQuoting(ctx: Ctx, headers: HeaderList, account = ctx.account, container = ctx.container as string): Promise<void> {
  const i = headers.findIndex(([k]) => k === 'Etag');
  if (i === -1) return;
  const v = (headers[i] as [string, string])[1];
  if (v.startsWith('"')) return;
  if (await enabled(ctx, account, container)) headers[i] = ['Etag', `"${v}"`];
}
