/**
 * A bounded least-recently-used map with per-entry expiry. Map keeps insertion order,
 * so re-inserting on read moves an entry to the young end and the oldest is first.
 */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value, refreshed as most recently used; an expired entry is dropped. */
  get(key: K, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Removes every entry whose value matches; returns how many. */
  deleteWhere(match: (value: V, key: K) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (match(entry.value, key)) {
        this.#entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** Drops entries expired at `now`; returns how many. */
  prune(now: number): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.#entries.clear();
  }
}
