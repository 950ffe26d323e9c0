/**
 * Versioned schema migrations: an ordered list of SQL steps and a `schema_migrations`
 * table recording which ran. Each step runs in its own transaction (CockroachDB does
 * not allow DDL after writes in one transaction) under a transaction-scoped advisory
 * lock, so gateways starting together apply each step exactly once. Where advisory
 * locks are unavailable the lock can be turned off: a racing gateway then fails on
 * the duplicate DDL or version row, retries, and finds the step applied.
 *
 * Names are `COLLATE "C"`: listings are ordered range scans of the primary key, and
 * must order by UTF-8 bytes as Swift's do, whatever the database's default collation.
 * (CockroachDB always orders strings by bytes and refuses "C" columns: no clause there.)
 * Never edit a released step; append a new one.
 */
import type { Pool, PoolClient } from 'pg';
import { inTransaction, sqlState, type Tables } from './db.ts';

export interface Migration {
  version: number;
  name: string;
  sql: (t: Tables) => string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'namespace, blob bookkeeping and identity',
    sql: (t) => `
      CREATE TABLE ${t.accounts} (
        name          text ${t.byteOrder} NOT NULL PRIMARY KEY,
        created_at    text NOT NULL,
        put_timestamp text NOT NULL,
        meta          jsonb NOT NULL,
        sysmeta       jsonb NOT NULL
      );
      -- Counts live in a few rows per account (and per container), each connection adding
      -- to its own: exact and in the same transaction as the change, yet no single row that
      -- every commit of a busy account must lock until its WAL flush. Read = SUM.
      CREATE TABLE ${t.accountStats} (
        account         text ${t.byteOrder} NOT NULL,
        shard           smallint NOT NULL,
        container_count bigint NOT NULL DEFAULT 0,
        object_count    bigint NOT NULL DEFAULT 0,
        bytes_used      bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (account, shard)
      );
      CREATE TABLE ${t.containers} (
        account       text ${t.byteOrder} NOT NULL,
        name          text ${t.byteOrder} NOT NULL,
        created_at    text NOT NULL,
        put_timestamp text NOT NULL,
        meta          jsonb NOT NULL,
        sysmeta       jsonb NOT NULL,
        read_acl      text NOT NULL,
        write_acl     text NOT NULL,
        policy        text NOT NULL,
        PRIMARY KEY (account, name)
      );
      CREATE TABLE ${t.containerStats} (
        account      text ${t.byteOrder} NOT NULL,
        container    text ${t.byteOrder} NOT NULL,
        shard        smallint NOT NULL,
        object_count bigint NOT NULL DEFAULT 0,
        bytes_used   bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (account, container, shard)
      );
      CREATE TABLE ${t.objects} (
        account      text ${t.byteOrder} NOT NULL,
        container    text ${t.byteOrder} NOT NULL,
        name         text ${t.byteOrder} NOT NULL,
        size         bigint NOT NULL,
        etag         text NOT NULL,
        content_type text NOT NULL,
        ts           text NOT NULL,
        meta_ts      text NOT NULL,
        blob_id      text NOT NULL,
        meta         jsonb NOT NULL,
        headers      jsonb NOT NULL,
        delete_at    bigint,
        PRIMARY KEY (account, container, name)
      );
      CREATE INDEX objects_expiry ON ${t.objects} (delete_at, account, container, name) WHERE delete_at IS NOT NULL;
      CREATE TABLE ${t.pending} (
        blob_id  text ${t.byteOrder} NOT NULL PRIMARY KEY,
        added_at bigint NOT NULL
      );
      CREATE TABLE ${t.garbage} (
        blob_id text ${t.byteOrder} NOT NULL PRIMARY KEY
      );
      CREATE TABLE ${t.users} (
        account    text ${t.byteOrder} NOT NULL,
        user_name  text ${t.byteOrder} NOT NULL,
        key_hash   text NOT NULL,
        groups     jsonb NOT NULL,
        created_at text NOT NULL,
        PRIMARY KEY (account, user_name)
      );
      CREATE TABLE ${t.tokens} (
        token_hash text ${t.byteOrder} NOT NULL PRIMARY KEY,
        account    text NOT NULL,
        user_name  text NOT NULL,
        groups     jsonb NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX tokens_by_user ON ${t.tokens} (account, user_name);
      CREATE INDEX tokens_by_expiry ON ${t.tokens} (expires_at);
      CREATE TABLE ${t.domains} (
        domain     text ${t.byteOrder} NOT NULL PRIMARY KEY,
        account    text NOT NULL,
        container  text NOT NULL,
        created_at text NOT NULL
      );
      CREATE INDEX domains_by_account ON ${t.domains} (account);
    `,
  },
];

export interface MigrateOptions {
  /** Serialize concurrent migrators with pg_advisory_xact_lock (default true). */
  advisoryLock?: boolean;
}

/** Arbitrary constant: the advisory lock namespace of swiftgate's migrations. */
const LOCK_CLASS = 0x5357_4654; // "SWFT"

/** Applies the steps not yet recorded; returns the versions it applied. */
export async function migrate(pool: Pool, t: Tables, schemaName: string, options: MigrateOptions = {}): Promise<number[]> {
  const applied: number[] = [];
  const done = await appliedVersions(pool, t);
  let lock = options.advisoryLock !== false;
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (;;) {
      try {
        const ran = await inTransaction(
          pool,
          async (client) => {
            if (lock) await client.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2)::int4)', [LOCK_CLASS, schemaName]);
            await ensureBookkeeping(client, t, schemaName);
            const seen = await client.query(`SELECT 1 FROM ${t.migrations} WHERE version = $1`, [m.version]);
            if (seen.rowCount) return false;
            await client.query(m.sql(t));
            await client.query(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
            return true;
          },
          // Without the lock, racing migrators collide on the DDL or on the version row.
          { attempts: 10, retryOn: ['42P07', '42P06', '23505', '42710'] },
        );
        if (ran) applied.push(m.version);
        break;
      } catch (err) {
        // No advisory locks here (older CockroachDB): go on without, relying on the retries.
        const cause = (err as { cause?: unknown }).cause ?? err;
        if (lock && (sqlState(cause) === '42883' || sqlState(cause) === '0A000')) {
          lock = false;
          continue;
        }
        throw err;
      }
    }
  }
  return applied;
}

/** The newest version recorded in the database (0 when none). */
export async function schemaVersion(pool: Pool, t: Tables): Promise<number> {
  return Math.max(0, ...(await appliedVersions(pool, t)));
}

async function appliedVersions(pool: Pool, t: Tables): Promise<Set<number>> {
  try {
    const r = await pool.query<{ version: number }>(`SELECT version FROM ${t.migrations}`);
    return new Set(r.rows.map((row) => Number(row.version)));
  } catch (err) {
    if (sqlState(err) === '42P01' || sqlState(err) === '3F000') return new Set(); // no table / schema yet
    throw err;
  }
}

async function ensureBookkeeping(client: PoolClient, t: Tables, schemaName: string): Promise<void> {
  if (schemaName !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${t.migrations} (
       version    integer NOT NULL PRIMARY KEY,
       name       text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
}
