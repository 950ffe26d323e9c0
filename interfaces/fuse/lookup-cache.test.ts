import { afterEach, describe, expect, it, vi } from 'vitest';
import { LookupCache } from './lookup-cache.ts';
import { PathMap } from './paths.ts';

const paths = new PathMap('c');
const put = (name: string) => ({ kind: 'object' as const, container: 'c', name, deleted: false });
const del = (name: string) => ({ kind: 'object' as const, container: 'c', name, deleted: true });
/** A listing read from the store with nothing changing meanwhile. */
const keep = (cache: LookupCache, path: string, names: string[]) => cache.finishListing(cache.startListing(path), names);

describe('LookupCache listings', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers "absent" for names a kept listing lacks, and only then', () => {
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 100 });
    expect(cache.absent('/d/x')).toBe(false); // nothing known about /d
    keep(cache, '/d', ['.', '..', 'a', 'sub']);
    expect(cache.absent('/d/x')).toBe(true);
    expect(cache.absent('/d/a')).toBe(false);
    expect(cache.absent('/d/sub')).toBe(false);
    expect(cache.absent('/other/x')).toBe(false);
  });

  it('a write below a listed directory adds its name (and implicit directories above) instead of dropping the listing', () => {
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 100 });
    keep(cache, '/', ['.', '..', 'd']);
    keep(cache, '/d', ['.', '..', 'a']);
    cache.onChanges(paths, [put('d/new.txt'), put('e/f/g.txt')]);
    expect(cache.getListing('/d')).toEqual(['.', '..', 'a', 'new.txt']);
    expect(cache.absent('/d/new.txt')).toBe(false);
    expect(cache.getListing('/')).toEqual(['.', '..', 'd', 'e']);
    cache.onChanges(paths, [put('d/a')]); // an overwrite: nothing to add
    expect(cache.getListing('/d')).toEqual(['.', '..', 'a', 'new.txt']);
  });

  it('a removal drops the listings above it (an implicit directory may have gone)', () => {
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 100 });
    keep(cache, '/', ['.', '..', 'd']);
    keep(cache, '/d', ['.', '..', 'a']);
    cache.onChanges(paths, [del('d/a')]);
    expect(cache.getListing('/d')).toBeUndefined();
    expect(cache.getListing('/')).toBeUndefined();
    expect(cache.absent('/d/a')).toBe(false);
  });

  it('folds writes made while a listing is read into it; a removal meanwhile spoils it', () => {
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 100 });
    const reading = cache.startListing('/d');
    cache.onChanges(paths, [put('d/late.txt'), put('elsewhere')]);
    cache.finishListing(reading, ['.', '..', 'early.txt']);
    expect(cache.getListing('/d')).toEqual(['.', '..', 'early.txt', 'late.txt']);
    expect(cache.absent('/d/late.txt')).toBe(false);

    const spoiled = cache.startListing('/e');
    cache.onChanges(paths, [del('e/gone.txt')]);
    cache.finishListing(spoiled, ['.', '..', 'gone.txt']);
    expect(cache.getListing('/e')).toBeUndefined();

    const failed = cache.startListing('/f');
    cache.finishListing(failed);
    expect(cache.getListing('/f')).toBeUndefined();
  });

  it('keeps no listing past the TTL, none too large', () => {
    vi.useFakeTimers();
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 100 });
    keep(cache, '/d', ['.', '..']);
    expect(cache.absent('/d/x')).toBe(true);
    vi.advanceTimersByTime(1001);
    expect(cache.absent('/d/x')).toBe(false);
    keep(cache, '/big', Array.from({ length: 10_001 }, (_, i) => `n${i}`));
    expect(cache.getListing('/big')).toBeUndefined();
    expect(cache.listable('/big')).toBe(false);
    vi.advanceTimersByTime(1001);
    expect(cache.listable('/big')).toBe(true);
  });
});
