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
 *
 * A cached directory listing also answers "no such entry" for any name it lacks (a create
 * loop asks that of every new name). Writes below a listed directory add their names to
 * its listing instead of dropping it; removals drop it, as an implicit directory may go.
 */
import type { NodeInfo } from './attrs.ts';
import type { MountChange } from './backend.ts';
import { type PathMap, parentPath } from './paths.ts';

interface Entry {
  node: NodeInfo | null;
  at: number;
}

interface Listing {
  names: string[];
  /** The same names, for membership tests. */
  set: Set<string>;
  at: number;
}

/**
 * A listing being read from the store. Changes made meanwhile are folded in when it is
 * kept: names written below the directory are added; a removal spoils it (not kept).
 */
export interface ListingInFlight {
  readonly path: string;
  adds: Set<string>;
  spoiled: boolean;
}

/** Listings longer than this are not kept; all kept listings hold at most MAX_LISTED names. */
const MAX_LISTING = 10_000;
const MAX_LISTED = 50_000;

export class LookupCache {
  private readonly map = new Map<string, Entry>();
  /** Directory path → its names (readdir), under the same TTL and invalidation. */
  private readonly listings = new Map<string, Listing>();
  /** Directories found too large to keep a listing of, and when. */
  private readonly unlistable = new Map<string, number>();
  /** Listings being read, by directory. */
  private readonly inFlight = new Map<string, Set<ListingInFlight>>();
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
    return this.freshListing(path)?.names;
  }

  /** True when the parent directory's cached listing lacks `path`'s name: it does not exist. */
  absent(path: string): boolean {
    const parent = parentPath(path);
    const l = parent === undefined ? undefined : this.freshListing(parent);
    return l !== undefined && !l.set.has(path.slice(path.lastIndexOf('/') + 1));
  }

  /** Call before reading a directory's listing from the store; then finishListing. */
  startListing(path: string): ListingInFlight {
    const l: ListingInFlight = { path, adds: new Set(), spoiled: false };
    const set = this.inFlight.get(path) ?? new Set<ListingInFlight>();
    set.add(l);
    this.inFlight.set(path, set);
    return l;
  }

  /** Keeps the listing read (with the names written meanwhile), unless a removal spoiled it; undefined: the read failed. */
  finishListing(l: ListingInFlight, names?: readonly string[]): void {
    const reading = this.inFlight.get(l.path);
    reading?.delete(l);
    if (reading?.size === 0) this.inFlight.delete(l.path);
    if (!names || l.spoiled || this.ttlMs <= 0) return;
    const set = new Set(names);
    const all = names.slice();
    for (const n of l.adds) {
      if (set.has(n)) continue;
      set.add(n);
      all.push(n);
    }
    if (all.length > MAX_LISTING) return this.markUnlistable(l.path);
    this.dropListing(l.path);
    for (const k of this.listings.keys()) {
      if (this.listed + all.length <= MAX_LISTED) break;
      this.dropListing(k); // oldest first
    }
    this.listings.set(l.path, { names: all, set, at: Date.now() });
    this.listed += all.length;
  }

  /** `path` has too many entries to keep a listing of: do not try again for a TTL. */
  markUnlistable(path: string): void {
    if (this.unlistable.size >= 1000) this.unlistable.clear();
    this.unlistable.set(path, Date.now());
  }

  /** Whether a listing of `path` could be kept (it was not found too large lately). */
  listable(path: string): boolean {
    if (this.ttlMs <= 0) return false;
    const at = this.unlistable.get(path);
    if (at === undefined) return true;
    if (Date.now() - at <= this.ttlMs) return false;
    this.unlistable.delete(path);
    return true;
  }

  private freshListing(path: string): Listing | undefined {
    if (this.ttlMs <= 0) return undefined;
    const l = this.listings.get(path);
    if (!l) return undefined;
    if (Date.now() - l.at > this.ttlMs) {
      this.dropListing(path);
      return undefined;
    }
    return l;
  }

  /** `name` now exists in directory `dir`: a kept listing gains it, and so does one being read. */
  private addToListing(dir: string, name: string): void {
    for (const f of this.inFlight.get(dir) ?? []) f.adds.add(name);
    const l = this.listings.get(dir);
    if (!l || l.set.has(name)) return;
    if (l.names.length >= MAX_LISTING) {
      this.dropListing(dir);
      return;
    }
    l.names.push(name);
    l.set.add(name);
    this.listed++;
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
    this.listingChanged(path);
    let child = path;
    for (let p = parentPath(path); p !== undefined; child = p, p = parentPath(p)) {
      if (removal || this.map.get(p)?.node?.kind !== 'dir') this.map.delete(p);
      // Every listing above may change: the entry itself, or an implicit directory that
      // came (a write: the name is added) or went (a removal: the listing is dropped).
      if (removal) this.listingChanged(p);
      else this.addToListing(p, child.slice(child.lastIndexOf('/') + 1));
    }
  }

  /** A path and everything below it. */
  invalidateTree(path: string): void {
    this.generation++;
    const prefix = `${path}/`;
    for (const k of this.map.keys()) if (k === path || k.startsWith(prefix)) this.map.delete(k);
    for (const k of this.listings.keys()) if (k === path || k.startsWith(prefix)) this.dropListing(k);
    for (const [k, set] of this.inFlight) if (k === path || k.startsWith(prefix)) for (const f of set) f.spoiled = true;
    this.invalidatePath(path);
  }

  /** Directory `dir` may have lost entries: neither its kept listing nor one being read holds. */
  private listingChanged(dir: string): void {
    this.dropListing(dir);
    for (const f of this.inFlight.get(dir) ?? []) f.spoiled = true;
  }

  clear(): void {
    this.generation++;
    this.map.clear();
    this.listings.clear();
    for (const set of this.inFlight.values()) for (const f of set) f.spoiled = true;
    this.unlistable.clear();
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

