/** Random names and listing queries for the listing property tests. */
import type { ListQuery } from '../../src/core/types.ts';
import type { Rng } from './prng.ts';

/** Weighted: plenty of '/' and a-c so hierarchies and shared prefixes are common; '0' is
 * the byte after '/', where a delimiter listing resumes after rolling up a subdir. */
const NAME_ALPHABET = ['a', 'a', 'a', 'b', 'b', 'c', '/', '/', '/', '-', '.', '0', 'é', '😀'];
/** Container names may not hold '/'. */
const CONTAINER_ALPHABET = ['a', 'a', 'a', 'b', 'b', 'c', '-', '-', '.', 'é', '😀'];
const DELIMITERS = ['/', '/', '/', '/', '-', '.', 'a', 'é', '😀', '/a', 'b/'];
const CONTAINER_DELIMITERS = ['-', '-', '.', 'a', 'é', '😀', '-a'];
const LIMITS = [1, 1, 2, 3, 4, 7, 10, 10000];

export type NameKind = 'objects' | 'containers';

export function randomName(rng: Rng, kind: NameKind, maxLen = 7): string {
  const alphabet = kind === 'objects' ? NAME_ALPHABET : CONTAINER_ALPHABET;
  const len = rng.int(1, maxLen);
  let s = '';
  for (let i = 0; i < len; i++) s += rng.pick(alphabet);
  return s;
}

export function randomNames(rng: Rng, kind: NameKind, max = 60): string[] {
  const n = rng.int(0, max);
  const names = new Set<string>();
  for (let i = 0; i < n; i++) {
    // Half extend an earlier name, so deep shared prefixes (a/b/…) are common.
    const base = names.size > 0 && rng.chance(0.5) ? rng.pick([...names]) : '';
    const next = base + randomName(rng, kind, base ? 3 : 7);
    names.add(next);
  }
  return [...names];
}

/** A code-point-safe truncation (never splits a surrogate pair). */
function truncate(rng: Rng, s: string): string {
  const cps = Array.from(s);
  return cps.slice(0, rng.int(0, cps.length)).join('');
}

/** Something to use as a marker, end marker, prefix or path: mostly near existing names. */
function nearName(rng: Rng, names: readonly string[], kind: NameKind, delimiters: readonly string[]): string {
  const r = rng.next();
  if (names.length === 0 || r < 0.15) return randomName(rng, kind, 4);
  const name = rng.pick(names);
  if (r < 0.5) return name;
  if (r < 0.8) return truncate(rng, name);
  return truncate(rng, name) + rng.pick(delimiters); // a would-be subdir name
}

export function randomQuery(rng: Rng, names: readonly string[], kind: NameKind): ListQuery {
  const delimiters = kind === 'objects' ? DELIMITERS : CONTAINER_DELIMITERS;
  const q: ListQuery = { limit: rng.pick(LIMITS) };
  if (rng.chance(0.45)) q.prefix = truncate(rng, nearName(rng, names, kind, delimiters));
  if (rng.chance(0.5)) q.delimiter = rng.pick(delimiters);
  if (rng.chance(0.4)) q.marker = nearName(rng, names, kind, delimiters);
  if (rng.chance(0.25)) q.endMarker = nearName(rng, names, kind, delimiters);
  if (rng.chance(0.3)) q.reverse = true;
  if (kind === 'objects' && rng.chance(0.2)) {
    const r = rng.next();
    q.path = r < 0.2 ? '' : nearName(rng, names, kind, delimiters) + (r > 0.8 ? '//' : '');
  }
  return q;
}

export function describeQuery(q: ListQuery): string {
  return JSON.stringify(q);
}
