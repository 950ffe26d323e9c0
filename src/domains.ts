/**
 * Custom domains: a host name mapped to one container, so `http://st.example.com/a.gif`
 * serves object `a.gif` with no `/v1/AUTH_…/public` in the URL. A domain belongs to one
 * account; another tenant can neither claim nor shadow it. Resolution is cached per
 * process and invalidated through the change feed like every other cache.
 */
import type { ChangeFeed } from './core/change-feed.ts';
import type { Constraints } from './core/constraints.ts';
import { errors } from './core/errors.ts';
import { validateContainerName } from './core/names.ts';
import { nowTimestamp } from './core/timestamp.ts';
import type { DomainRecord, IdentityStore } from './metadata/store.ts';

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-cases a Host header and drops its port; undefined if it is not a host name. */
export function normalizeHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return undefined; // IPv6 literals are never custom domains
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (!h || h.length > 253 || !h.split('.').every((l) => HOST_LABEL.test(l))) return undefined;
  return h;
}

export class DomainDirectory {
  private readonly cache = new Map<string, DomainRecord | null>();
  /** Bumped by every invalidation; a lookup that raced one does not cache what it read. */
  private gen = 0;

  constructor(
    private readonly store: IdentityStore,
    private readonly feed: ChangeFeed,
    private readonly constraints: Constraints,
  ) {
    feed.subscribe((events) => {
      this.gen++;
      for (const e of events) {
        if (e.kind === 'domain' && e.domain !== undefined) this.cache.delete(e.domain);
        else if (e.kind === 'account' && e.account === '*') this.cache.clear();
      }
    });
  }

  /**
   * Maps `domain` to `account/container`. `actingAccount` (a tenant acting through the
   * API) may only map into its own account; undefined = operator (CLI, reseller admin).
   */
  async add(domain: string, account: string, container: string, actingAccount?: string): Promise<DomainRecord> {
    const host = normalizeHost(domain);
    if (!host || host !== domain.trim().toLowerCase()) throw errors.invalidArgument(`"${domain}" is not a host name (no port, no scheme)`);
    if (!/^AUTH_[^/]+$/.test(account)) throw errors.invalidArgument(`"${account}" is not a storage account (AUTH_name)`);
    validateContainerName(container, this.constraints);
    if (actingAccount !== undefined && actingAccount !== account) throw errors.forbidden('a domain can only be mapped into your own account');
    const record: DomainRecord = { domain: host, account, container, createdAt: nowTimestamp() };
    await this.store.claimDomain(record);
    await this.feed.publish([{ kind: 'domain', op: 'put', account, domain: host }]);
    return record;
  }

  async remove(domain: string, actingAccount?: string): Promise<boolean> {
    const host = normalizeHost(domain);
    if (!host) return false;
    const existing = await this.store.getDomain(host);
    if (!existing) return false;
    if (actingAccount !== undefined && existing.account !== actingAccount) throw errors.forbidden('that domain belongs to another account');
    const removed = await this.store.removeDomain(host);
    await this.feed.publish([{ kind: 'domain', op: 'delete', account: existing.account, domain: host }]);
    return removed;
  }

  list(account?: string): Promise<DomainRecord[]> {
    return this.store.listDomains(account);
  }

  /** The container a Host header maps to, if any. */
  async resolve(hostHeader: string | undefined): Promise<DomainRecord | undefined> {
    const host = normalizeHost(hostHeader);
    if (!host) return undefined;
    const hit = this.cache.get(host);
    if (hit !== undefined) return hit ?? undefined;
    const gen = this.gen;
    const rec = await this.store.getDomain(host);
    if (this.cache.size > 100_000) this.cache.clear(); // a flood of random Host headers must not grow memory
    if (gen === this.gen) this.cache.set(host, rec ?? null);
    return rec;
  }
}
