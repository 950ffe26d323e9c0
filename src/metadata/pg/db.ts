/**
 * Plumbing shared by the PostgreSQL store, its migrations and its change feed: table
 * names, type parsing, transactions with retry, and mapping driver errors onto the
 * error catalogue.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { CustomTypesConfig, Pool, PoolClient, QueryConfig } from 'pg';
import { errors, isSwiftgateError } from '../../core/errors.ts';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Fully qualified table names; qualified rather than via search_path, which poolers (PgBouncer) do not keep. */
export interface Tables {
  schema: string;
  /** `COLLATE "C"` for name columns, or '' where the default already orders by bytes (CockroachDB, which rejects "C" columns). */
  byteOrder: string;
  migrations: string;
  accounts: string;
  accountStats: string;
  containers: string;
  containerStats: string;
  objects: string;
  pending: string;
  garbage: string;
  users: string;
  tokens: string;
  domains: string;
}

export function tables(schema: string, flavor: Flavor = 'postgres'): Tables {
  const q = (t: string): string => `${quoteIdent(schema)}.${quoteIdent(t)}`;
  return {
    schema: quoteIdent(schema),
    byteOrder: flavor === 'cockroach' ? '' : 'COLLATE "C"',
    migrations: q('schema_migrations'),
    accounts: q('accounts'),
    accountStats: q('account_stats'),
    containers: q('containers'),
    containerStats: q('container_stats'),
    objects: q('objects'),
    pending: q('pending_blobs'),
    garbage: q('garbage_blobs'),
    users: q('users'),
    tokens: q('tokens'),
    domains: q('domains'),
  };
}

export type Flavor = 'postgres' | 'cockroach' | 'yugabyte';

/** Which PostgreSQL-compatible server this is, from `version()`. */
export async function detectFlavor(pool: Pool): Promise<Flavor> {
  const r = await pool.query<{ v: string }>('SELECT version() AS v');
  const v = r.rows[0]?.v ?? '';
  if (/cockroach/i.test(v)) return 'cockroach';
  if (/-YB-/i.test(v)) return 'yugabyte';
  return 'postgres';
}

const INT8_OID = 20;

/**
 * BIGINT columns as numbers (counts, bytes, sizes, unix times all stay far below 2^53).
 * Set per pool, so other users of `pg` in the process keep the default (strings).
 */
export const pgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

const statementNames = new Map<string, string>();

/**
 * A query, as a named (prepared) statement when `prepare`: the server parses and plans
 * each distinct text once per connection instead of on every call, which is most of
 * the cost of the larger statements. Off for poolers that cannot keep prepared
 * statements (PgBouncer in transaction mode before 1.21).
 */
export function statement(text: string, values: unknown[], prepare: boolean): QueryConfig {
  if (!prepare) return { text, values };
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `sg_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return { name, text, values };
}

/** SQLSTATE of a server error, if the error came from the server. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Serialization failure and deadlock: the transaction did nothing and may simply run again. */
export function isRetryable(err: unknown): boolean {
  const s = sqlState(err);
  return s === '40001' || s === '40P01';
}

/** The connection is unusable (as opposed to a statement that failed on a healthy one). */
function isConnectionError(err: unknown): boolean {
  const s = sqlState(err);
  if (s) return s.startsWith('08') || s === '57P01' || s === '57P02' || s === '57P03';
  if (isSwiftgateError(err) || !(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /connect|terminat|timeout|not queryable/i.test(err.message);
}

/** Maps a driver/server error onto the error catalogue. */
export function mapError(err: unknown, what = 'metadata database'): Error {
  if (isSwiftgateError(err)) return err;
  const s = sqlState(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (isConnectionError(err) || (s !== undefined && s.startsWith('53')) || s === '3D000' || s === '28P01' || s === '28000')
    return errors.backendUnavailable(`${what} unavailable: ${msg}`, err);
  if (s === undefined) return errors.internal(`${what}: ${msg}`, err);
  if (isRetryable(err)) return errors.backendUnavailable(`${what} busy, gave up after retries: ${msg}`, err);
  // Text PostgreSQL cannot store (NUL in a JSON string, invalid encoding) or index (oversized keys).
  if (s === '22P05' || s === '22021' || s === '54000') return errors.invalidArgument(`value not storable: ${msg}`);
  return errors.internal(`${what} error ${s}: ${msg}`, err);
}

export interface TxOptions {
  /** Attempts for serialization failures and deadlocks (default 6). */
  attempts?: number;
  /** Extra SQLSTATEs that make an attempt retryable (migrations racing on DDL). */
  retryOn?: readonly string[];
}

/**
 * Runs `fn` in one transaction and commits it. Serialization failures and deadlocks
 * (and `retryOn`) roll back and run `fn` again after a short jittered backoff; any
 * other failure rolls back and is mapped onto the error catalogue.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, options: TxOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw mapError(err);
    }
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      let broken = isConnectionError(err);
      if (!broken) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
      }
      // A broken connection goes back destroyed, so the pool opens a fresh one.
      client.release(broken ? true : undefined);
      const s = sqlState(err);
      const again = isRetryable(err) || (s !== undefined && options.retryOn?.includes(s) === true);
      if (again && attempt < attempts) {
        await sleep(Math.min(200, 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      throw mapError(err);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
