/**
 * Every public URL at which a change shows: the object under the API path, under each
 * custom domain mapped to its container, and under the storage domain (both
 * domain_remap forms), plus the listings it appears in (the container, each parent
 * pseudo-directory — staticweb serves those as pages).
 */
import type { DomainRecord } from '../metadata/store.ts';

export interface UrlContext {
  /** Public base of the API, e.g. "http://cs1.example.net" (no trailing slash). */
  apiBase?: string;
  storageDomain?: string;
  domains: DomainRecord[];
}

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

/** URLs to purge when `object` (or, without it, the container itself) changed. */
export function publicUrlsFor(account: string, container: string, object: string | undefined, ctx: UrlContext): string[] {
  const urls = new Set<string>();
  const parents: string[] = [];
  if (object !== undefined) {
    const parts = object.split('/');
    for (let i = 1; i < parts.length; i++) parents.push(`${parts.slice(0, i).join('/')}/`);
  }
  const under = (base: string) => {
    if (object !== undefined) urls.add(`${base}/${enc(object)}`);
    urls.add(`${base}/`);
    for (const p of parents) urls.add(`${base}/${enc(p)}`);
  };
  if (ctx.apiBase) {
    const base = `${ctx.apiBase}/v1/${encodeURIComponent(account)}/${encodeURIComponent(container)}`;
    urls.add(base);
    under(base);
  }
  for (const d of ctx.domains) if (d.account === account && d.container === container) under(`http://${d.domain}`);
  if (ctx.storageDomain) {
    const acct = account.toLowerCase();
    const cont = container.toLowerCase();
    if (/^[a-z0-9-]+$/.test(cont)) under(`http://${cont}.${acct}.${ctx.storageDomain}`);
    under(`http://${acct}.${ctx.storageDomain}/${encodeURIComponent(container)}`);
  }
  return [...urls];
}
