/**
 * Range requests as swob does them: a malformed header is ignored (200), unsatisfiable
 * ranges give 416, one range 206 + Content-Range, several multipart/byteranges.
 */

export interface RangeSpec {
  start: number | undefined;
  end: number | undefined;
}

/** Half-open [start, end) byte ranges to serve. */
export type Ranges = Array<[number, number]>;

const MAX_RANGE_OVERLAPS = 2;
const MAX_NONASCENDING_RANGES = 8;
const MAX_RANGES = 50;

/** swob's Range(headerval); undefined when the header is syntactically invalid (→ ignored). */
export function parseRange(header: string | undefined): RangeSpec[] | undefined {
  if (!header) return undefined;
  const v = header.replace(/ /g, '');
  if (!v.toLowerCase().startsWith('bytes=')) return undefined;
  const out: RangeSpec[] = [];
  for (const rng of v.slice(6).split(',')) {
    const dash = rng.indexOf('-');
    if (dash === -1) return undefined;
    const a = rng.slice(0, dash);
    const b = rng.slice(dash + 1);
    let start: number | undefined;
    if (a) {
      if (!/^[+]?\d+$/.test(a)) return undefined;
      start = Number(a);
    }
    let end: number | undefined;
    if (b) {
      if (!/^\d+$/.test(b)) return undefined;
      end = Number(b);
      if (start !== undefined && end < start) return undefined;
    } else if (start === undefined) return undefined;
    out.push({ start, end });
  }
  return out;
}

/**
 * swob's ranges_for_length: undefined → ignore the header; [] → 416; else the ranges.
 */
export function rangesForLength(specs: RangeSpec[] | undefined, length: number): Ranges | undefined {
  if (!specs || specs.length === 0) return undefined;
  const all: Ranges = [];
  for (const { start, end } of specs) {
    if (start === undefined) {
      const n = end as number;
      if (n === 0) continue;
      all.push(n > length ? [0, length] : [length - n, length]);
      continue;
    }
    if (end === undefined) {
      if (start < length) all.push([start, length]);
    } else if (start < length) all.push([start, Math.min(end + 1, length)]);
  }
  if (all.length > MAX_RANGES) return [];
  let overlaps = 0;
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [s1, e1] = all[i] as [number, number];
      const [s2, e2] = all[j] as [number, number];
      if ((s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) || (s2 < s1 && s1 < e2) || (s2 < e1 && e1 < e2)) {
        overlaps += 1;
        if (overlaps > MAX_RANGE_OVERLAPS) return [];
      }
    }
  }
  let ascending = true;
  for (let i = 1; i < all.length; i++) {
    const [a0, a1] = all[i - 1] as [number, number];
    const [b0, b1] = all[i] as [number, number];
    if (a0 > b0 || (a0 === b0 && a1 > b1)) {
      ascending = false;
      break;
    }
  }
  if (!ascending && all.length >= MAX_NONASCENDING_RANGES) return [];
  return all;
}

export function contentRange(start: number, end: number, length: number): string {
  return `bytes ${start}-${end - 1}/${length}`;
}
