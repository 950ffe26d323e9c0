/**
 * The listing algorithm on its own, over an in-memory ordered cursor: hand-checked
 * cases (expected values taken from a real Swift 2.30 ContainerBroker), a randomized
 * comparison with the brute-force model of test/core/listing-model.ts, and the cost
 * claim (a delimiter page costs O(limit) cursor steps however much sits below it).
 * The same properties against the real LevelDB store live in
 * test/core/listing-property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ListQuery } from '../core/types.ts';
import { type OrderedCursor, type ScanRange, listingRange, scanListing } from './listing-scan.ts';
import { compareUtf8, modelList, sortUtf8 } from '../../test/core/listing-model.ts';
import { Rng, testSeed } from '../../test/core/prng.ts';
import { describeQuery, randomNames, randomQuery } from '../../test/core/listing-gen.ts';

/** A sorted array behind the OrderedCursor contract, counting what the scan costs. */
class ArrayCursor implements OrderedCursor<string> {
  steps = 0;
  seeks = 0;
  closed = 0;
  private readonly lo: number; // first index inside the range
  private readonly hi: number; // one past the last index inside the range
  private pos: number;

  constructor(
    private readonly names: readonly string[],
    private readonly range: ScanRange,
  ) {
    let lo = 0;
    if (range.lower !== undefined) {
      const lower = range.lower;
      lo = names.findIndex((n) => (range.lowerInclusive ? compareUtf8(n, lower) >= 0 : compareUtf8(n, lower) > 0));
      if (lo < 0) lo = names.length;
    }
    let hi = names.length;
    if (range.upper !== undefined) {
      const upper = range.upper;
      hi = names.findIndex((n) => compareUtf8(n, upper) >= 0);
      if (hi < 0) hi = names.length;
    }
    this.lo = lo;
    this.hi = Math.max(lo, hi);
    this.pos = range.reverse ? this.hi - 1 : this.lo;
  }

  async next(): Promise<{ name: string; value: string } | undefined> {
    if (this.closed) throw new Error('next() on a closed cursor');
    this.steps++;
    if (this.pos < this.lo || this.pos >= this.hi) return undefined;
    const name = this.names[this.pos] as string;
    this.pos += this.range.reverse ? -1 : 1;
    return { name, value: `value of ${name}` };
  }

  seek(target: string): void {
    if (this.closed) throw new Error('seek() on a closed cursor');
    this.seeks++;
    if (this.range.reverse) {
      let i = this.hi - 1;
      while (i >= this.lo && compareUtf8(this.names[i] as string, target) > 0) i--;
      this.pos = i;
    } else {
      let i = this.lo;
      while (i < this.hi && compareUtf8(this.names[i] as string, target) < 0) i++;
      this.pos = i;
    }
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

interface Run {
  entries: string[];
  cursors: ArrayCursor[];
}

async function run(sorted: readonly string[], q: ListQuery): Promise<Run> {
  const cursors: ArrayCursor[] = [];
  const out = await scanListing<string, { kind: 'object'; name: string; value: string }>(
    q,
    (range) => {
      const c = new ArrayCursor(sorted, range);
      cursors.push(c);
      return c;
    },
    (name, value) => {
      expect(value).toBe(`value of ${name}`); // entries carry the value the cursor gave
      return { kind: 'object', name, value };
    },
  );
  return { entries: out.map((e) => (e.kind === 'subdir' ? `${e.name} [dir]` : e.name)), cursors };
}

const show = (entries: Array<{ kind: string; name: string }>) => entries.map((e) => (e.kind === 'subdir' ? `${e.name} [dir]` : e.name));

// UTF-8 order: 'ｱ' (U+FF71) sorts before '😀' (U+1F600), though in UTF-16 units 0xFF71 > 0xD83D.
const NAMES = sortUtf8(['a', 'a-b', 'a/', 'a/b', 'a/b/', 'a/b/c', 'a/b0', 'a0', 'b', 'é', 'ｱ', '😀']);

describe('scanListing: hand-checked cases (expected values from a real Swift broker)', () => {
  const cases: Array<[string, ListQuery, string[]]> = [
    ['everything, by UTF-8 bytes', { limit: 100 }, ['a', 'a-b', 'a/', 'a/b', 'a/b/', 'a/b/c', 'a/b0', 'a0', 'b', 'é', 'ｱ', '😀']],
    ['marker and end_marker are exclusive', { limit: 100, marker: 'a/', endMarker: 'b' }, ['a/b', 'a/b/', 'a/b/c', 'a/b0', 'a0']],
    ['reverse swaps the roles of marker and end_marker', { limit: 100, marker: 'b', endMarker: 'a/', reverse: true }, ['a0', 'a/b0', 'a/b/c', 'a/b/', 'a/b']],
    ['delimiter rolls names up into subdirs', { limit: 100, delimiter: '/' }, ['a', 'a-b', 'a/ [dir]', 'a0', 'b', 'é', 'ｱ', '😀']],
    ['a subdir equal to the marker is not repeated', { limit: 100, delimiter: '/', marker: 'a/' }, ['a0', 'b', 'é', 'ｱ', '😀']],
    ['reverse delimiter listing', { limit: 100, delimiter: '/', reverse: true }, ['😀', 'ｱ', 'é', 'b', 'a0', 'a/ [dir]', 'a-b', 'a']],
    ['reverse: the subdir equal to end_marker is not repeated', { limit: 100, delimiter: '/', reverse: true, endMarker: 'a/' }, ['😀', 'ｱ', 'é', 'b', 'a0']],
    ['prefix and delimiter', { limit: 100, prefix: 'a/', delimiter: '/' }, ['a/', 'a/b', 'a/b/ [dir]', 'a/b0']],
    ['limit counts subdirs', { limit: 3, delimiter: '/' }, ['a', 'a-b', 'a/ [dir]']],
    ['end_marker inside the prefix', { limit: 100, prefix: 'a', endMarker: 'a/b' }, ['a', 'a-b', 'a/']],
    ['a marker below the prefix is ignored', { limit: 100, prefix: 'a/', marker: '0' }, ['a/', 'a/b', 'a/b/', 'a/b/c', 'a/b0']],
    ['another delimiter', { limit: 100, delimiter: '-' }, ['a', 'a- [dir]', 'a/', 'a/b', 'a/b/', 'a/b/c', 'a/b0', 'a0', 'b', 'é', 'ｱ', '😀']],
    // Swift lists only ['a/b', 'a/b/'] here: its hop past a/b/… queries name > 'a/b0'
    // and so drops the object a/b0 (a Swift bug; swiftgate lists every direct child).
    ['path: direct children only, no subdirs', { limit: 100, path: 'a' }, ['a/b', 'a/b/', 'a/b0']],
    ['path strips trailing slashes', { limit: 100, path: 'a//' }, ['a/b', 'a/b/', 'a/b0']],
    // As in Swift: walking down, the hop from a/b/c lands below 'a/b/', so that marker is skipped.
    ['reverse path', { limit: 100, path: 'a', reverse: true }, ['a/b0', 'a/b']],
    // Swift drops 'a0' here (same bug as above).
    ['path "" is the root', { limit: 100, path: '' }, ['a', 'a-b', 'a/', 'a0', 'b', 'é', 'ｱ', '😀']],
  ];
  for (const [title, q, expected] of cases) {
    it(`${title}: ${describeQuery(q)}`, async () => {
      const { entries } = await run(NAMES, q);
      expect(entries).toEqual(expected);
      expect(show(modelList(NAMES, q))).toEqual(expected);
    });
  }

  it('limit 0 lists nothing and opens no cursor', async () => {
    const { entries, cursors } = await run(NAMES, { limit: 0, delimiter: '/' });
    expect(entries).toEqual([]);
    expect(cursors).toHaveLength(0);
  });

  it('empty marker, end_marker and prefix mean "none"', async () => {
    const { entries } = await run(NAMES, { limit: 100, marker: '', endMarker: '', prefix: '' });
    expect(entries).toEqual(NAMES);
  });
});

describe('listingRange', () => {
  it('uses the marker as an exclusive lower bound when it is inside the prefix', () => {
    expect(listingRange({ limit: 1, prefix: 'a/', marker: 'a/b' }).range).toEqual({ lower: 'a/b', lowerInclusive: false, upper: 'a0', reverse: false });
  });
  it('starts at the prefix (inclusive) when the marker is below it', () => {
    expect(listingRange({ limit: 1, prefix: 'a/', marker: 'a' }).range).toEqual({ lower: 'a/', lowerInclusive: true, upper: 'a0', reverse: false });
  });
  it('takes the smaller of end_marker and the end of the prefix', () => {
    expect(listingRange({ limit: 1, prefix: 'a/', endMarker: 'a/c' }).range.upper).toBe('a/c');
    expect(listingRange({ limit: 1, prefix: 'a/', endMarker: 'b' }).range.upper).toBe('a0');
  });
  it('ends a prefix that ends in an astral character correctly', () => {
    // U+1F600 + 1 = U+1F601: the bound must step the code point, not a surrogate half.
    expect(listingRange({ limit: 1, prefix: 'x😀' }).range.upper).toBe('x😁');
  });
  it('swaps marker and end_marker in reverse', () => {
    const r = listingRange({ limit: 1, marker: 'm', endMarker: 'c', reverse: true });
    expect(r.range).toEqual({ lower: 'c', lowerInclusive: false, upper: 'm', reverse: true });
    expect(r.origMarker).toBe('c');
  });
  it('path sets prefix and delimiter and strips trailing slashes', () => {
    const r = listingRange({ limit: 1, path: 'photos///', prefix: 'ignored', delimiter: '-' });
    expect([r.prefix, r.delimiter, r.path]).toEqual(['photos/', '/', 'photos/']);
    const root = listingRange({ limit: 1, path: '' });
    expect([root.prefix, root.delimiter, root.path]).toEqual([undefined, '/', '']);
  });
});

describe('scanListing against the brute-force model (randomized)', () => {
  const seed = testSeed(0x5eed_1157);
  it(`agrees on random names and queries (seed ${seed})`, async () => {
    const rng = new Rng(seed);
    let compared = 0;
    for (let iter = 0; iter < 400; iter++) {
      const kind = iter % 4 === 3 ? 'containers' : 'objects';
      const sorted = sortUtf8(randomNames(rng, kind));
      for (let j = 0; j < 15; j++) {
        const q = randomQuery(rng, sorted, kind);
        const { entries, cursors } = await run(sorted, q);
        const want = show(modelList(sorted, q));
        if (JSON.stringify(entries) !== JSON.stringify(want)) {
          expect({ seed, iter, names: sorted, query: q, entries }).toEqual({ seed, iter, names: sorted, query: q, entries: want });
        }
        for (const c of cursors) expect(c.closed, 'every cursor is closed once').toBe(1);
        compared++;
      }
    }
    expect(compared).toBe(6000);
  });
});

describe('scanListing cost', () => {
  // 200 directories × 500 files, plus a few top-level files between them.
  const names: string[] = [];
  for (let d = 0; d < 200; d++) {
    names.push(`dir${String(d).padStart(3, '0')}.txt`);
    for (let f = 0; f < 500; f++) names.push(`dir${String(d).padStart(3, '0')}/f${String(f).padStart(4, '0')}`);
  }
  const sorted = sortUtf8(names);

  it('a delimiter page costs O(limit) steps, not O(objects below)', async () => {
    const { entries, cursors } = await run(sorted, { limit: 50, delimiter: '/' });
    expect(entries).toHaveLength(50);
    expect(entries.slice(0, 3)).toEqual(['dir000.txt', 'dir000/ [dir]', 'dir001.txt']);
    const [c] = cursors;
    expect(c!.steps).toBeLessThanOrEqual(51);
    expect(c!.seeks).toBe(25);
  });

  it('so does a reverse delimiter page', async () => {
    const { entries, cursors } = await run(sorted, { limit: 50, delimiter: '/', reverse: true });
    expect(entries.slice(0, 3)).toEqual(['dir199/ [dir]', 'dir199.txt', 'dir198/ [dir]']);
    expect(cursors[0]!.steps).toBeLessThanOrEqual(51);
  });

  it('and a path listing hops over subtrees', async () => {
    const deep = sortUtf8([...Array.from({ length: 100 }, (_, i) => `p/s${i}/x/y/z`), ...Array.from({ length: 100 }, (_, i) => `p/f${i}`)]);
    const { entries, cursors } = await run(deep, { limit: 1000, path: 'p' });
    expect(entries).toHaveLength(100);
    expect(cursors[0]!.steps).toBeLessThanOrEqual(100 + 100 + 1);
  });

  it('closes the cursor when the page fills before the range ends', async () => {
    const { cursors } = await run(sorted, { limit: 3 });
    expect(cursors[0]!.closed).toBe(1);
  });
});
