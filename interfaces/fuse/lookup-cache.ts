/**
 * What a path is (or that it is absent), remembered briefly. The kernel asks about the
 * same path several times per syscall (lookup, then getattr) because its own caches are
 * off; this answers the repeats. Coherence comes from the backend's changes: in local
 * mode the change feed reports every commit anywhere (HTTP, FTP, this mount, another
 * process through the metadata host) before the writer is answered, and the TTL only
 * bounds the damage of a feed that could miss events. In remote mode only this mount's
 * own writes are reported and the TTL (--cache-ttl) is how long a change made elsewhere
 * may go unseen. The size bound keeps memory flat on huge trees.
 */
import type { NodeInfo } from './attrs.ts';
import type { MountChange } from './backend.ts';
import type { PathMap } from './paths.ts';

interface Entry {
  node: NodeInfo | null;
  at: number;
}

export class LookupCache {
  private readonly map = new Map<string, Entry>();
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

  /** A path and every directory above it (implicit directories come and go with it). */
  invalidatePath(path: string): void {
    this.generation++;
    for (let p = path; p.length > 1; p = p.slice(0, Math.max(1, p.lastIndexOf('/')))) this.map.delete(p);
    this.map.delete('/');
  }

  /** A path and everything below it. */
  invalidateTree(path: string): void {
    this.generation++;
    const prefix = `${path}/`;
    for (const k of this.map.keys()) if (k === path || k.startsWith(prefix)) this.map.delete(k);
    this.invalidatePath(path);
  }

  clear(): void {
    this.generation++;
    this.map.clear();
  }

  /** Change listener for the account/container this mount shows. */
  onChanges(paths: PathMap, changes: readonly MountChange[]): void {
    for (const c of changes) {
      if (c.kind === 'all') {
        this.clear();
      } else if (c.kind === 'container') {
        const p = paths.pathOf(c.container, '');
        if (p === undefined) continue;
        const dir = p.length > 1 ? p.replace(/\/$/, '') : '/';
        if (c.deleted) this.invalidateTree(dir);
        else this.invalidatePath(dir);
      } else {
        const p = paths.pathOf(c.container, c.name.replace(/\/+$/, ''));
        if (p !== undefined) this.invalidatePath(p);
      }
    }
  }
}
