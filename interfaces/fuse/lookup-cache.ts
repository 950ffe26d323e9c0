/**
 * What a path is (or that it is absent), remembered briefly. The kernel asks about the
 * same path several times per syscall (lookup, then getattr) whenever its own caches
 * have expired or were invalidated; this answers the repeats. Coherence comes from the backend's changes: in local
 * mode the change feed reports every commit anywhere (HTTP, FTP, this mount, another
 * process through the metadata host) before the writer is answered, and the TTL only
 * bounds the damage of a feed that could miss events. In remote mode the gateway's change
 * stream reports changes (a swiftgate endpoint); otherwise only this mount's own writes
 * are, and the TTL (--cache-ttl) is how long a change made elsewhere may go unseen.
 * The size bound keeps memory flat on huge trees.
 */
import type { NodeInfo } from './attrs.ts';
import type { MountChange } from './backend.ts';
import { type PathMap, parentPath } from './paths.ts';

interface Entry {
  node: NodeInfo | null;
  at: number;
}

/** Listings longer than this are not kept; all kept listings hold at most MAX_LISTED names. */
const MAX_LISTING = 10_000;
const MAX_LISTED = 50_000;

export class LookupCache {
  private readonly map = new Map<string, Entry>();
  /** Directory path → its names (readdir), under the same TTL and invalidation. */
  private readonly listings = new Map<string, { names: readonly string[]; at: number }>();
  private listed = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** Bumped on every invalidation: a lookup that raced one is not stored. */
  private generation = 0;

  constructor(opts: { ttlMs: number; maxEntries: number }) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries;
  }

  get gen(): number {
    return this.generation;
  }

  get(path: string): NodeInfo | null | undefined {
    if (this.ttlMs <= 0) return undefined;
    const e = this.map.get(path);
    if (!e) return undefined;
    if (Date.now() - e.at > this.ttlMs) {
      this.map.delete(path);
      return undefined;
    }
    return e.node;
  }

  set(path: string, node: NodeInfo | null, gen: number): void {
    if (this.ttlMs <= 0 || gen !== this.generation) return;
    if (this.map.size >= this.maxEntries) {
      // Oldest first: Map keeps insertion order.
      const drop = Math.max(1, this.maxEntries >> 3);
      let i = 0;
      for (const k of this.map.keys()) {
        if (i++ >= drop) break;
        this.map.delete(k);
      }
    }
    this.map.set(path, { node, at: Date.now() });
  }

  getListing(path: string): readonly string[] | undefined {
    if (this.ttlMs <= 0) return undefined;
    const l = this.listings.get(path);
    if (!l) return undefined;
    if (Date.now() - l.at > this.ttlMs) {
      this.dropListing(path);
      return undefined;
    }
    return l.names;
  }

  setListing(path: string, names: readonly string[], gen: number): void {
    if (this.ttlMs <= 0 || gen !== this.generation || names.length > MAX_LISTING) return;
    this.dropListing(path);
    for (const k of this.listings.keys()) {
      if (this.listed + names.length <= MAX_LISTED) break;
      this.dropListing(k); // oldest first
    }
    this.listings.set(path, { names, at: Date.now() });
    this.listed += names.length;
  }

  private dropListing(path: string): void {
    const l = this.listings.get(path);
    if (!l) return;
    this.listed -= l.names.length;
    this.listings.delete(path);
  }

  /**
   * A path and the directories above it: all of them when something went away (an
   * implicit directory goes with its last object), else only those remembered as absent
   * or as not a directory — a write below a directory leaves it a directory, and keeping
   * it saves a create loop re-asking the store about the same parent every time.
   */
  invalidatePath(path: string, removal = true): void {
    this.generation++;
    this.map.delete(path);
    this.dropListing(path);
    for (let p = parentPath(path); p !== undefined; p = parentPath(p)) {
      if (removal || this.map.get(p)?.node?.kind !== 'dir') this.map.delete(p);
      // Every listing above may change: the entry itself, or an implicit directory that came or went.
      this.dropListing(p);
    }
  }

  /** A path and everything below it. */
  invalidateTree(path: string): void {
    this.generation++;
    const prefix = `${path}/`;
    for (const k of this.map.keys()) if (k === path || k.startsWith(prefix)) this.map.delete(k);
    for (const k of this.listings.keys()) if (k === path || k.startsWith(prefix)) this.dropListing(k);
    this.invalidatePath(path);
  }

  clear(): void {
    this.generation++;
    this.map.clear();
    this.listings.clear();
    this.listed = 0;
  }

  /** Change listener for the account/container this mount shows. */
  onChanges(paths: PathMap, changes: readonly MountChange[]): void {
    for (const c of changes) {
      if (c.kind === 'all') {
        this.clear();
      } else {
        const p = paths.pathOfChange(c);
        if (p === undefined) continue;
        if (c.kind === 'container' && c.deleted) this.invalidateTree(p);
        else this.invalidatePath(p, c.kind === 'container' || c.deleted);
      }
    }
  }
}

