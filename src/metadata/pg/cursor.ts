/**
 * An OrderedCursor over a table by keyset pagination: each batch is
 * `… AND name > $last ORDER BY name LIMIT n`, an ordered range scan of the primary key
 * (`name` is COLLATE "C", so the order is Swift's byte order). `seek` just moves the
 * bound, which is what makes delimiter listings skip whole subtrees.
 *
 * Batches start small and grow while the scan goes on undisturbed: a delimiter listing
 * seeks after most rows, so a large first batch would mostly be thrown away.
 */
import type { Pool, QueryResultRow } from 'pg';
import type { OrderedCursor, ScanRange } from '../listing-scan.ts';
import { mapError, statement } from './db.ts';

export interface KeysetQuery<R extends QueryResultRow, T> {
  /** `SELECT … FROM t WHERE <fixed conditions on $1…$n>`; bounds on `name` are appended. */
  select: string;
  params: unknown[];
  map: (row: R) => T;
}

export interface BatchSizes {
  /** Rows fetched first and right after a seek. */
  first: number;
  /** Cap as batches grow (×4 per uninterrupted fetch). */
  max: number;
}

export function keysetCursor<R extends QueryResultRow & { name: string }, T>(
  pool: Pool,
  query: KeysetQuery<R, T>,
  range: ScanRange,
  sizes: BatchSizes,
  prepare: boolean,
): OrderedCursor<T> {
  const reverse = range.reverse;
  let from: { name: string; inclusive: boolean } | undefined;
  let buffer: R[] = [];
  let pos = 0;
  let ended = false;
  let batch = Math.max(1, sizes.first);

  const fetch = async (): Promise<R[]> => {
    const params = [...query.params];
    let sql = query.select;
    const bound = (op: string, value: string): void => {
      // PostgreSQL text cannot hold NUL and no name contains one (Swift markers may, e.g.
      // "name\0" for an inclusive bound): cut there, which selects exactly the same names
      // (x > p␀… ⟺ x > p; x < p␀… ⟺ x <= p).
      const nul = value.indexOf('\0');
      if (nul >= 0) {
        value = value.slice(0, nul);
        op = op.startsWith('>') ? '>' : '<=';
      }
      params.push(value);
      sql += ` AND name ${op} $${params.length}`;
    };
    if (range.lower !== undefined) bound(range.lowerInclusive ? '>=' : '>', range.lower);
    if (range.upper !== undefined) bound('<', range.upper);
    if (from) bound(reverse ? (from.inclusive ? '<=' : '<') : from.inclusive ? '>=' : '>', from.name);
    params.push(batch);
    sql += ` ORDER BY name ${reverse ? 'DESC' : 'ASC'} LIMIT $${params.length}`;
    try {
      return (await pool.query<R>(statement(sql, params, prepare))).rows;
    } catch (err) {
      throw mapError(err);
    }
  };

  return {
    next: async () => {
      if (pos >= buffer.length) {
        if (ended) return undefined;
        const n = batch;
        buffer = await fetch();
        pos = 0;
        ended = buffer.length < n;
        batch = Math.min(sizes.max, batch * 4);
        const last = buffer[buffer.length - 1];
        if (!last) return undefined;
        from = { name: last.name, inclusive: false };
      }
      const row = buffer[pos++] as R;
      return { name: row.name, value: query.map(row) };
    },
    seek: (name: string) => {
      from = { name, inclusive: true };
      buffer = [];
      pos = 0;
      ended = false;
      batch = Math.max(1, sizes.first);
    },
  };
}
