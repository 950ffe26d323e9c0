/**
 * The hot read cache of one process: records (objects, containers, accounts), listings
 * kept as data, and the bytes of small objects. Invalidated only by the change feed —
 * which every writer awaits before acknowledging — so it is never stale after a write
 * has been acknowledged. Keys are (account, container, object), not URLs, so the API
 * path, a custom domain and a storage domain all share (and lose) the same entry.
 *
 * Bytes are keyed by blob id: a blob never changes once written, so byte entries need
 * no invalidation at all; the record that points to them does.
 *
 * A read that started before an invalidation must not refill the cache with what it
 * read: fills carry the generation seen when the read began and are dropped if any
 * invalidation happened since.
 *
 * Settings (a container's or account's ACLs, quotas, metadata — the record without its
 * counts) are kept apart: object writes move counts but never settings, so these
 * entries survive a stream of uploads and only container/account events drop them. They
 * have their own generation so a flood of object events cannot starve their fills.
 */
import type { ChangeEvent, ChangeFeed } from '../core/change-feed.ts';
import type { AccountRecord, ContainerListing, ContainerRecord, ObjectListing, ObjectRecord } from '../core/types.ts';
import type { AccountSettings, ContainerSettings } from '../core/namespace.ts';
import { WeightedLru } from './lru.ts';

export interface ReadCacheOptions {
  /** Largest object whose bytes are cached. */
  maxObjectBytes: number;
  /** Memory for cached bytes (records and listings are bounded by entry count). */
  maxTotalBytes: number;
  maxRecords?: number;
  maxListings?: number;
}

const SEP = '\u0000';
/** Cached "does not exist", so repeated 404s (bots, broken links) skip the store too. */
export const ABSENT = Symbol('absent');
export type Cached<T> = T | typeof ABSENT | undefined;

export class ReadCache {
  private gen = 0;
  private readonly objects: WeightedLru<string, ObjectRecord | typeof ABSENT>;
  private readonly containers: WeightedLru<string, ContainerRecord | typeof ABSENT>;
  private readonly accounts: WeightedLru<string, AccountRecord | typeof ABSENT>;
  /** Listings, grouped by the container (or account) whose change invalidates them. */
  private readonly listings: WeightedLru<string, Map<string, ObjectListing | ContainerListing>>;
  private readonly bytes: WeightedLru<string, Buffer>;
  private settingsGen = 0;
  private readonly containerSettings: WeightedLru<string, ContainerSettings | typeof ABSENT>;
  private readonly accountSettings: WeightedLru<string, AccountSettings | typeof ABSENT>;
  readonly maxObjectBytes: number;
  private hits = 0;
  private misses = 0;

  constructor(feed: ChangeFeed, opts: ReadCacheOptions) {
    this.maxObjectBytes = opts.maxObjectBytes;
    const records = opts.maxRecords ?? 200_000;
    this.objects = new WeightedLru(records);
    this.containers = new WeightedLru(records / 10);
    this.accounts = new WeightedLru(records / 10);
    this.listings = new WeightedLru(opts.maxListings ?? 10_000);
    this.bytes = new WeightedLru(opts.maxTotalBytes);
    this.containerSettings = new WeightedLru(records / 10);
    this.accountSettings = new WeightedLru(records / 10);
    feed.subscribe((events) => this.invalidate(events));
  }

  /** Take before reading the store; pass to the `put*` that caches what was read. */
  generation(): number {
    return this.gen;
  }

  stats() {
    return { hits: this.hits, misses: this.misses, objects: this.objects.size, bytes: this.bytes.weight, listings: this.listings.size };
  }

  getObject(a: string, c: string, o: string): Cached<ObjectRecord> {
    return this.count(this.objects.get(a + SEP + c + SEP + o));
  }
  putObject(gen: number, a: string, c: string, o: string, rec: ObjectRecord | undefined): void {
    if (gen === this.gen) this.objects.set(a + SEP + c + SEP + o, rec ?? ABSENT);
  }

  getContainer(a: string, c: string): Cached<ContainerRecord> {
    return this.count(this.containers.get(a + SEP + c));
  }
  putContainer(gen: number, a: string, c: string, rec: ContainerRecord | undefined): void {
    if (gen === this.gen) this.containers.set(a + SEP + c, rec ?? ABSENT);
  }

  getAccount(a: string): Cached<AccountRecord> {
    return this.count(this.accounts.get(a));
  }
  putAccount(gen: number, a: string, rec: AccountRecord | undefined): void {
    if (gen === this.gen) this.accounts.set(a, rec ?? ABSENT);
  }

  getObjectListing(a: string, c: string, queryKey: string): ObjectListing | undefined {
    return this.count(this.listings.get(a + SEP + c)?.get(queryKey)) as ObjectListing | undefined;
  }
  putObjectListing(gen: number, a: string, c: string, queryKey: string, listing: ObjectListing): void {
    if (gen === this.gen) this.listingGroup(a + SEP + c).set(queryKey, listing);
  }

  getContainerListing(a: string, queryKey: string): ContainerListing | undefined {
    return this.count(this.listings.get(a)?.get(queryKey)) as ContainerListing | undefined;
  }
  putContainerListing(gen: number, a: string, queryKey: string, listing: ContainerListing): void {
    if (gen === this.gen) this.listingGroup(a).set(queryKey, listing);
  }

  /** Take before reading settings from the store; pass to `put*Settings`. */
  settingsGeneration(): number {
    return this.settingsGen;
  }

  getContainerSettings(a: string, c: string): Cached<ContainerSettings> {
    return this.count(this.containerSettings.get(a + SEP + c));
  }
  putContainerSettings(gen: number, a: string, c: string, settings: ContainerSettings | undefined): void {
    if (gen === this.settingsGen) this.containerSettings.set(a + SEP + c, settings ?? ABSENT);
  }

  getAccountSettings(a: string): Cached<AccountSettings> {
    return this.count(this.accountSettings.get(a));
  }
  putAccountSettings(gen: number, a: string, settings: AccountSettings | undefined): void {
    if (gen === this.settingsGen) this.accountSettings.set(a, settings ?? ABSENT);
  }

  getBytes(blobId: string): Buffer | undefined {
    return this.bytes.get(blobId);
  }
  putBytes(blobId: string, data: Buffer): void {
    if (data.length <= this.maxObjectBytes) this.bytes.set(blobId, data, data.length || 1);
  }

  /** Drops everything (e.g. after a missed message on a shared feed). */
  clear(): void {
    this.gen++;
    this.settingsGen++;
    this.containerSettings.clear();
    this.accountSettings.clear();
    this.objects.clear();
    this.containers.clear();
    this.accounts.clear();
    this.listings.clear();
  }

  private invalidate(events: readonly ChangeEvent[]): void {
    this.gen++;
    for (const e of events) {
      if (e.account === '*') {
        this.clear();
        return;
      }
      const a = e.account;
      switch (e.kind) {
        case 'object':
          if (e.container === undefined) break;
          if (e.object !== undefined) this.objects.delete(a + SEP + e.container + SEP + e.object);
          this.listings.delete(a + SEP + e.container);
          this.containers.delete(a + SEP + e.container); // counts and bytes moved
          this.accounts.delete(a);
          this.listings.delete(a);
          break;
        case 'container':
          if (e.container === undefined) break;
          this.settingsGen++;
          this.containerSettings.delete(a + SEP + e.container);
          this.accountSettings.delete(a); // creating a container may create its account
          this.containers.delete(a + SEP + e.container);
          this.listings.delete(a + SEP + e.container);
          this.accounts.delete(a);
          this.listings.delete(a);
          if (e.op === 'delete') this.dropObjectsOf(a + SEP + e.container + SEP);
          break;
        case 'account':
          this.settingsGen++;
          this.accountSettings.delete(a);
          this.accounts.delete(a);
          this.listings.delete(a);
          break;
        case 'user':
          break;
      }
    }
  }

  private dropObjectsOf(prefix: string): void {
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix)) this.objects.delete(k);
  }

  private listingGroup(key: string): Map<string, ObjectListing | ContainerListing> {
    let g = this.listings.get(key);
    if (!g) {
      g = new Map();
      this.listings.set(key, g);
    }
    if (g.size > 256) g.clear(); // one container's many distinct queries must not pin memory
    return g;
  }

  private count<T>(v: T | undefined): T | undefined {
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }
}
