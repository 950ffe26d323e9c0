/**
 * A brute-force model of Swift's listing semantics (container broker
 * `list_objects_iter`, account broker `list_containers_iter`), written from what Swift
 * implements rather than from our port: no cursor, no seek, no range arithmetic — just
 * filter a sorted array and walk it.
 *
 *  - Order is by UTF-8 bytes (SQLite's BINARY collation over UTF-8 text).
 *  - `marker` and `end_marker` are exclusive bounds; `reverse` swaps their roles (the
 *    client's marker becomes the upper bound, its end_marker the lower one) and walks
 *    downwards.
 *  - With a delimiter, a name holding the delimiter after the prefix rolls up into one
 *    `subdir` entry `prefix + part + delimiter`; the subdir equal to the (swapped)
 *    marker is not repeated, so pages chained by marker never repeat a subdir.
 *  - `path` overrides prefix and delimiter: prefix `path` with its trailing slashes
 *    stripped plus one `/` ('' for the root), delimiter `/`, only direct children and
 *    never a subdir. `path/x/` markers are direct children; walking downwards, Swift
 *    hops to below `path/x/` from the first deeper name it meets, so in reverse a
 *    marker that has children is not listed (Swift does this; so do we).
 *
 * One Swift bug is modelled behind a flag: going forwards in a `path` listing, Swift's
 * hop past `path/x/…` queries `name > 'path/x0'` (not `>=`, unlike the delimiter
 * branch, which has `delim_force_gte`), so an object named exactly `path/x0` is
 * dropped. swiftgate lists it; `swiftPathSkipBug: true` reproduces Swift byte for byte
 * (used only to check this model against a real Swift broker).
 */
import type { ListQuery } from '../../src/core/types.ts';

export interface ModelEntry {
  kind: 'object' | 'subdir';
  name: string;
}

export interface ModelOptions {
  swiftPathSkipBug?: boolean;
}

/** Orders by UTF-8 bytes, by actually encoding (independent of src/core/names.ts). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortUtf8(names: Iterable<string>): string[] {
  const decorated = [...new Set(names)].map((n) => ({ n, b: Buffer.from(n, 'utf8') }));
  decorated.sort((x, y) => Buffer.compare(x.b, y.b));
  return decorated.map((d) => d.n);
}

export function modelList(sortedNames: readonly string[], q: ListQuery, opts: ModelOptions = {}): ModelEntry[] {
  const reverse = q.reverse === true;
  let lower = q.marker ?? '';
  let upper = q.endMarker ?? '';
  if (reverse) [lower, upper] = [upper, lower];
  let prefix = q.prefix ?? '';
  let delimiter = q.delimiter ?? '';
  let path: string | undefined;
  if (q.path !== undefined) {
    path = q.path === '' ? '' : q.path.replace(/\/+$/, '') + '/';
    prefix = path;
    delimiter = '/';
  }
  const out: ModelEntry[] = [];
  if (q.limit <= 0) return out;

  const candidates = sortedNames.filter(
    (n) => n.startsWith(prefix) && (lower === '' || compareUtf8(n, lower) > 0) && (upper === '' || compareUtf8(n, upper) < 0),
  );
  if (reverse) candidates.reverse();

  if (!delimiter) return candidates.slice(0, q.limit).map((name) => ({ kind: 'object', name }));

  let skipping: string | undefined; // names starting with this are rolled up / hopped over
  let skipExactly: string | undefined;
  for (const name of candidates) {
    if (out.length >= q.limit) break;
    if (skipping !== undefined && name.startsWith(skipping)) continue;
    if (skipExactly !== undefined && name === skipExactly) continue;
    skipping = undefined;
    skipExactly = undefined;
    const end = name.indexOf(delimiter, prefix.length);
    if (path !== undefined) {
      if (name === path) continue;
      if (end >= 0 && name.length > end + delimiter.length) {
        // Deeper than a direct child: hop over its whole subtree, list nothing for it.
        skipping = name.slice(0, end + delimiter.length);
        if (!reverse && opts.swiftPathSkipBug) skipExactly = name.slice(0, end) + String.fromCodePoint(delimiter.codePointAt(0)! + 1);
        continue;
      }
      out.push({ kind: 'object', name });
      continue;
    }
    if (end >= 0) {
      const dir = name.slice(0, end + delimiter.length);
      skipping = dir;
      if (dir !== lower) out.push({ kind: 'subdir', name: dir });
      continue;
    }
    out.push({ kind: 'object', name });
  }
  return out;
}
