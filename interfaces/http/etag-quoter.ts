/**
 * Swift's etag_quoter: object ETags go out RFC-quoted when the container (or else the
 * account) asked for it with X-*-Rfc-Compliant-Etags; off by default, as in Swift.
 */
import type { Ctx } from './context.ts';
import { SYSMETA } from './context.ts';
import type { HeaderList } from './response.ts';

export const ETAG_QUOTER_DEFAULT = false;

/** Whether object ETags of this container go out quoted (from cached settings). */
export async function etagQuotingEnabled(ctx: Ctx, account: string, container: string): Promise<boolean> {
  const ns = ctx.deps.namespace;
  const cont = await ns.getContainerSettings(account, container);
  let flag = cont?.sysmeta[SYSMETA.rfcEtags];
  if (flag === undefined) flag = (await ns.getAccountSettings(account))?.sysmeta[SYSMETA.rfcEtags];
  return flag === undefined ? ETAG_QUOTER_DEFAULT : flag.toLowerCase() === 'true';
}

/** Quotes the Etag header in place when the settings say so. */
export async function applyEtagQuoting(ctx: Ctx, headers: HeaderList, account = ctx.account, container = ctx.container as string): Promise<void> {
  if (headers.some(([k, v]) => k === 'Etag' && !v.startsWith('"'))) quoteEtag(headers, await etagQuotingEnabled(ctx, account, container));
}

/** Quotes the Etag header in place if `on`. */
export function quoteEtag(headers: HeaderList, on: boolean): void {
  const i = headers.findIndex(([k]) => k === 'Etag');
  if (i === -1 || !on) return;
  const v = (headers[i] as [string, string])[1];
  if (!v.startsWith('"')) headers[i] = ['Etag', `"${v}"`];
}
