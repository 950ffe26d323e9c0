/**
 * Which view a Host header selects, decided synchronously so the API's own requests
 * (IP literal, localhost, the configured API host) never wait for a domain lookup:
 * API, a storage-domain name (Swift's domain_remap), or a candidate custom domain.
 */
import { normalizeHost } from '../../../src/domains.ts';

export type HostKind = 'api' | 'storage' | 'candidate';

export interface HostClass {
  kind: HostKind;
  /** Lower-case host without port (Storage, Candidate). */
  host?: string;
}

const API: HostClass = { kind: 'api' };
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const STORAGE_LABELS = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
/** Distinct Host values remembered; a flood of random ones only costs re-classifying. */
const MAX_REMEMBERED = 10_000;

export class HostClassifier {
  private readonly seen = new Map<string, HostClass>();
  private readonly apiHosts: Set<string>;

  constructor(
    private readonly storageDomain: string | undefined,
    apiHosts: readonly string[],
  ) {
    this.apiHosts = new Set(['localhost', ...apiHosts.map((h) => h.toLowerCase())]);
    if (storageDomain) this.apiHosts.add(storageDomain);
  }

  classify(raw: string | undefined): HostClass {
    if (raw === undefined) return API;
    const hit = this.seen.get(raw);
    if (hit !== undefined) return hit;
    const c = this.compute(raw);
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.set(raw, c);
    return c;
  }

  private compute(raw: string): HostClass {
    // Storage-domain names first: account labels keep their '_' ("auth_test.…"), which
    // is not a DNS host name but is what Swift and the purge notifier use.
    const sd = this.storageDomain;
    if (sd) {
      const lower = raw.trim().toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
      if (lower.endsWith(`.${sd}`) && STORAGE_LABELS.test(lower.slice(0, -sd.length - 1))) return { kind: 'storage', host: lower };
    }
    const host = normalizeHost(raw);
    if (host === undefined || IPV4.test(host) || this.apiHosts.has(host)) return API;
    return { kind: 'candidate', host };
  }
}

/**
 * domain_remap: `[container.]account.<storage domain>` + path → `/v1/account[/container]` + path.
 * undefined: not an account of ours (the request goes on unchanged, as in Swift);
 * 'bad': more labels than container.account.
 */
export function remapStorageDomain(host: string, storageDomain: string, rawUrl: string): string | 'bad' | undefined {
  const labels = host.slice(0, host.length - storageDomain.length - 1).split('.');
  if (labels.length > 2) return 'bad';
  let account = labels[labels.length - 1] as string;
  const container = labels.length === 2 ? labels[0] : undefined;
  // DNS names cannot hold '_': "auth-x" stands for "AUTH_x". The prefix matches in any case.
  if (!account.includes('_') && account.includes('-')) account = account.replace('-', '_');
  const us = account.indexOf('_');
  if (us === -1 || account.slice(0, us).toLowerCase() !== 'auth') return undefined;
  account = `AUTH${account.slice(us)}`;
  const path = rawUrl.startsWith('/') ? rawUrl.slice(1) : rawUrl;
  return container === undefined ? `/v1/${account}/${path}` : `/v1/${account}/${container}/${path}`;
}
