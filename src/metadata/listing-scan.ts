/**
 * Swift's listing algorithm (container broker `list_objects_iter`) over any ordered
 * cursor that can seek. With a delimiter, each pseudo-directory costs one seek past its
 * subtree, so a page costs O(limit) steps however many objects sit below it.
 */
import { compareNames, prefixUpperBound } from '../core/names.ts';
import type { ListQuery, SubdirEntry } from '../core/types.ts';

export interface OrderedCursor<T> {
  /** Next entry in scan order, or undefined at the end of the range. */
  next(): Promise<{ name: string; value: T } | undefined>;
  /** Repositions: forward → first name ≥ target; reverse → last name ≤ target. */
  seek(name: string): void;
  /**
   * Releases what the cursor holds (a LevelDB iterator pins a snapshot and stays
   * attached to the db until closed). scanListing calls it once, however the scan ends.
   */
  close?(): Promise<void>;
}

export interface ScanRange {
  /** Lower bound on names (inclusive when lowerInclusive). */
  lower?: string;
  lowerInclusive: boolean;
  /** Upper bound on names, exclusive. */
  upper?: string;
  reverse: boolean;
}

/** Computes the range Swift's SQL would query for this listing. */
export function listingRange(q: ListQuery): { range: ScanRange; prefix: string | undefined; delimiter: string | undefined; path: string | undefined; origMarker: string | undefined } {
  let marker = q.marker || undefined;
  let endMarker = q.endMarker || undefined;
  const reverse = q.reverse === true;
  if (reverse) [marker, endMarker] = [endMarker, marker];
  let prefix = q.prefix || undefined;
  let delimiter = q.delimiter || undefined;
  let path: string | undefined;
  if (q.path !== undefined) {
    path = q.path ? q.path.replace(/\/+$/, '') + '/' : '';
    prefix = path || undefined;
    delimiter = '/';
  }
  const endPrefix = prefix ? prefixUpperBound(prefix) : undefined;
  const range: ScanRange = { lowerInclusive: false, reverse };
  if (endMarker && (!endPrefix || compareNames(endMarker, endPrefix) < 0)) range.upper = endMarker;
  else if (endPrefix) range.upper = endPrefix;
  if (marker && (!prefix || compareNames(marker, prefix) >= 0)) {
    range.lower = marker;
    range.lowerInclusive = false;
  } else if (prefix) {
    range.lower = prefix;
    range.lowerInclusive = true;
  }
  return { range, prefix, delimiter, path, origMarker: marker };
}

function belowLower(name: string, r: ScanRange): boolean {
  if (r.lower === undefined) return false;
  const c = compareNames(name, r.lower);
  return c < 0 || (c === 0 && !r.lowerInclusive);
}

function atOrAboveUpper(name: string, upper: string | undefined): boolean {
  return upper !== undefined && compareNames(name, upper) >= 0;
}

/**
 * Runs the listing. `open` makes a cursor over the range; entries are mapped by `toEntry`.
 */
export async function scanListing<T, E>(
  q: ListQuery,
  open: (range: ScanRange) => OrderedCursor<T>,
  toEntry: (name: string, value: T) => E,
): Promise<Array<E | SubdirEntry>> {
  const { range, prefix, delimiter, path, origMarker } = listingRange(q);
  const out: Array<E | SubdirEntry> = [];
  const limit = q.limit;
  if (limit <= 0) return out;
  const cursor = open(range);
  try {
    await scan(cursor);
  } finally {
    await cursor.close?.();
  }
  return out;

  async function scan(cursor: OrderedCursor<T>): Promise<void> {
    const prefixLen = prefix ? prefix.length : 0;
    // Reverse scans skip a subtree by moving the upper bound below it.
    let upper = range.upper;
    for (;;) {
      if (out.length >= limit) break;
      const item = await cursor.next();
      if (!item) break;
      const { name } = item;
      if (range.reverse) {
        if (belowLower(name, range)) break;
        if (atOrAboveUpper(name, upper)) continue; // the key a reverse seek landed on
      } else {
        if (atOrAboveUpper(name, upper)) break;
        if (belowLower(name, range)) continue;
      }
      if (!delimiter) {
        out.push(toEntry(name, item.value));
        continue;
      }
      const end = name.indexOf(delimiter, prefixLen);
      if (path !== undefined) {
        if (name === path) continue;
        if (end >= 0 && name.length > end + delimiter.length) {
          skipSubtree(name.slice(0, end), name.slice(0, end + delimiter.length));
          continue;
        }
        out.push(toEntry(name, item.value));
        continue;
      }
      if (end >= 0) {
        const dirName = name.slice(0, end + delimiter.length);
        if (dirName !== origMarker) out.push({ kind: 'subdir', name: dirName });
        skipSubtree(name.slice(0, end), dirName);
        continue;
      }
      out.push(toEntry(name, item.value));
    }

    function skipSubtree(head: string, dirName: string): void {
      if (range.reverse) {
        upper = dirName;
        cursor.seek(dirName);
      } else {
        cursor.seek(head + prefixUpperBound(delimiter as string));
      }
    }
  }
}
