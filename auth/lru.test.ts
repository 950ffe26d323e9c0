import { describe, expect, it } from 'vitest';
import { LruCache } from './lru.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.get('a', 0)).toBe(1); // a is now the youngest
    cache.set('c', 3, 100);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('honours expiry on read and prune', () => {
    const cache = new LruCache<string, number>(10);
    cache.set('short', 1, 10);
    cache.set('long', 2, 1000);
    expect(cache.get('short', 9)).toBe(1);
    expect(cache.get('short', 10)).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.set('short', 1, 10);
    expect(cache.prune(500)).toBe(1);
    expect(cache.get('long', 500)).toBe(2);
  });

  it('deletes by predicate and clears', () => {
    const cache = new LruCache<string, { user: string }>(10);
    cache.set('t1', { user: 'a' }, 100);
    cache.set('t2', { user: 'b' }, 100);
    cache.set('t3', { user: 'a' }, 100);
    expect(cache.deleteWhere((v) => v.user === 'a')).toBe(2);
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses a non-positive bound', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});
