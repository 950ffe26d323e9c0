/**
 * The shared metadata store: PostgreSQL (or a PostgreSQL-compatible distributed
 * database), used by any number of gateways at once. Semantics are those of the LevelDB
 * store, made concurrency-safe by the database instead of an in-process mutex:
 *
 * - every mutation is one transaction, counts and bytes move in the same transaction;
 * - writers of one container serialize on its row (`SELECT … FOR UPDATE`), then lock the
 *   object rows they replace, then update the account row last (lock order container →
 *   objects → account everywhere, so no cycles);
 * - serialization failures and deadlocks (40001, 40P01) are retried.
 *
 * Only portable SQL: no stored procedures, no LISTEN/NOTIFY (see change-feed.ts), and
 * advisory locks only while migrating, optionally.
 */
import pg from 'pg';
import type { Pool, PoolClient, PoolConfig, QueryResult, QueryResultRow } from 'pg';
import { errors } from '../../core/errors.ts';
import type {
  AccountRecord,
  ContainerListEntry,
  ContainerListing,
  ContainerRecord,
  ListQuery,
  Metadata,
  MetadataPatch,
  ObjectListEntry,
  ObjectListing,
  ObjectRecord,
} from '../../core/types.ts';
import { applyPatch } from '../level-store.ts';
import { type ScanRange, scanListing } from '../listing-scan.ts';
import type {
  AccountUpdate,
  ContainerInit,
  ContainerUpdate,
  DomainRecord,
  MetadataStore,
  ObjectChange,
  ObjectCommitResult,
  TokenRecord,
  UserRecord,
} from '../store.ts';
import { type BatchSizes, keysetCursor } from './cursor.ts';
import { inTransaction, mapError, pgTypes, statement, type Tables, tables } from './db.ts';
import { migrate, schemaVersion } from './migrations.ts';
import { planCommit, touchedNames } from './object-commit.ts';
import {
  ACCOUNT_COLUMNS,
  type AccountRow,
  CONTAINER_COLUMNS,
  type ContainerRow,
  type DomainRow,
  OBJECT_COLUMNS,
  type ObjectRow,
  type TokenRow,
  type UserRow,
  toAccount,
  toContainer,
  toDomain,
  toObject,
  toToken,
  toUser,
} from './rows.ts';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/db?sslmode=… */
  connectionString?: string;
  /** node-postgres pool settings (host, user, ssl, max, …), applied over connectionString. */
  pool?: PoolConfig;
  /** Schema holding the tables (default "public"; created if missing). */
  schema?: string;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Serialize migrators with an advisory lock (default true; turn off where unsupported). */
  advisoryLock?: boolean;
  /** Attempts per transaction on serialization failures and deadlocks (default 6). */
  txAttempts?: number;
  /** Named prepared statements (default true); turn off behind PgBouncer < 1.21 in transaction mode. */
  preparedStatements?: boolean;
}

/** Raised inside a transaction to run it again (a row vanished or appeared between two statements). */
class RetryTransaction extends Error {
  readonly code = '40001';
}

const json = (v: unknown): string => JSON.stringify(v);
const SCAN_PAGE = 500;

export class PostgresMetadataStore implements MetadataStore {
  private readonly t: Tables;

  private constructor(
    readonly pool: Pool,
    readonly schema: string,
    private readonly txAttempts: number,
    private readonly prepare: boolean,
  ) {
    this.t = tables(schema);
  }

  static async open(options: PostgresStoreOptions = {}): Promise<PostgresMetadataStore> {
    const schema = options.schema ?? 'public';
    const pool = new pg.Pool({
      ...(options.connectionString ? { connectionString: options.connectionString } : {}),
      max: 10,
      application_name: 'swiftgate',
      ...options.pool,
      types: pgTypes,
    });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const store = new PostgresMetadataStore(pool, schema, options.txAttempts ?? 6, options.preparedStatements !== false);
    try {
      if (options.migrate !== false) await migrate(pool, store.t, schema, { advisoryLock: options.advisoryLock });
      else await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw mapError(err, `metadata database ${describe(options)}`);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Newest migration applied to the database. */
  schemaVersion(): Promise<number> {
    return schemaVersion(this.pool, this.t).catch((err: unknown) => Promise.reject(mapError(err)));
  }

  // ------------------------------------------------------------------ accounts

  async getAccount(account: string): Promise<AccountRecord | undefined> {
    const [row] = await this.rows<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM ${this.t.accounts} WHERE name = $1`, [account]);
    return row && toAccount(row);
  }

  async createAccount(account: string, timestamp: string, init?: AccountUpdate): Promise<{ created: boolean; record: AccountRecord }> {
    return this.tx(async (c) => {
      const ins = await this.q<AccountRow>(c, 
        `INSERT INTO ${this.t.accounts} (name, created_at, put_timestamp, meta, sysmeta)
         VALUES ($1, $2, $2, $3::jsonb, $4::jsonb) ON CONFLICT (name) DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`,
        [account, timestamp, json(applyPatch({}, init?.meta)), json(applyPatch({}, init?.sysmeta))],
      );
      if (ins.rows[0]) return { created: true, record: toAccount(ins.rows[0]) };
      const existing = await this.lockAccount(c, account);
      if (!existing) throw new RetryTransaction('account vanished');
      const record = { ...existing, meta: applyPatch(existing.meta, init?.meta), sysmeta: applyPatch(existing.sysmeta, init?.sysmeta) };
      if (init) await this.writeAccountMeta(c, record);
      return { created: false, record };
    });
  }

  async updateAccount(account: string, update: AccountUpdate, timestamp: string): Promise<AccountRecord> {
    return this.tx(async (c) => {
      const existing = await this.lockAccount(c, account);
      if (existing) {
        const record = { ...existing, meta: applyPatch(existing.meta, update.meta), sysmeta: applyPatch(existing.sysmeta, update.sysmeta) };
        await this.writeAccountMeta(c, record);
        return record;
      }
      const ins = await this.q<AccountRow>(c, 
        `INSERT INTO ${this.t.accounts} (name, created_at, put_timestamp, meta, sysmeta)
         VALUES ($1, $2, $2, $3::jsonb, $4::jsonb) ON CONFLICT (name) DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`,
        [account, timestamp, json(applyPatch({}, update.meta)), json(applyPatch({}, update.sysmeta))],
      );
      if (!ins.rows[0]) throw new RetryTransaction('account appeared');
      return toAccount(ins.rows[0]);
    });
  }

  async deleteAccount(account: string): Promise<void> {
    await this.tx(async (c) => {
      const existing = await this.lockAccount(c, account);
      if (!existing) throw errors.accountNotFound(account);
      if (existing.containerCount > 0) throw errors.accountNotEmpty(account);
      await this.q(c, `DELETE FROM ${this.t.accounts} WHERE name = $1`, [account]);
    });
  }

  async listContainers(account: string, query: ListQuery): Promise<ContainerListing> {
    type Row = { name: string; object_count: number; bytes_used: number; put_timestamp: string };
    return scanListing<Row, ContainerListEntry>(
      query,
      (range) =>
        keysetCursor<Row, Row>(
          this.pool,
          {
            select: `SELECT name, object_count, bytes_used, put_timestamp FROM ${this.t.containers} WHERE account = $1`,
            params: [account],
            map: (r) => r,
          },
          range,
          batchSizes(query),
          this.prepare,
        ),
      (name, r) => ({ kind: 'container', name, objectCount: r.object_count, bytesUsed: r.bytes_used, lastModified: r.put_timestamp }),
    );
  }

  // ---------------------------------------------------------------- containers

  async getContainer(account: string, container: string): Promise<ContainerRecord | undefined> {
    const [row] = await this.rows<ContainerRow>(
      `SELECT ${CONTAINER_COLUMNS} FROM ${this.t.containers} WHERE account = $1 AND name = $2`,
      [account, container],
    );
    return row && toContainer(row);
  }

  async createContainer(
    account: string,
    container: string,
    timestamp: string,
    init?: ContainerInit,
  ): Promise<{ created: boolean; record: ContainerRecord }> {
    return this.tx(async (c) => {
      const existing = await this.lockContainer(c, account, container);
      if (existing) {
        const record: ContainerRecord = {
          ...existing,
          putTimestamp: timestamp,
          meta: { ...existing.meta, ...dropEmpty(init?.meta) },
          sysmeta: { ...existing.sysmeta, ...dropEmpty(init?.sysmeta) },
          readAcl: init?.readAcl ?? existing.readAcl,
          writeAcl: init?.writeAcl ?? existing.writeAcl,
        };
        for (const [k, v] of Object.entries(init?.meta ?? {})) if (v === '') delete record.meta[k];
        await this.q(c, 
          `UPDATE ${this.t.containers} SET put_timestamp = $3, meta = $4::jsonb, sysmeta = $5::jsonb, read_acl = $6, write_acl = $7
           WHERE account = $1 AND name = $2`,
          [account, container, record.putTimestamp, json(record.meta), json(record.sysmeta), record.readAcl, record.writeAcl],
        );
        return { created: false, record };
      }
      const ins = await this.q<ContainerRow>(c, 
        `INSERT INTO ${this.t.containers} (account, name, created_at, put_timestamp, meta, sysmeta, read_acl, write_acl, policy)
         VALUES ($1, $2, $3, $3, $4::jsonb, $5::jsonb, $6, $7, $8) ON CONFLICT (account, name) DO NOTHING RETURNING ${CONTAINER_COLUMNS}`,
        [
          account,
          container,
          timestamp,
          json(dropEmpty(init?.meta)),
          json(dropEmpty(init?.sysmeta)),
          init?.readAcl ?? '',
          init?.writeAcl ?? '',
          init?.policy ?? 'default',
        ],
      );
      if (!ins.rows[0]) throw new RetryTransaction('container appeared');
      await this.q(c, 
        `INSERT INTO ${this.t.accounts} AS a (name, created_at, put_timestamp, meta, sysmeta, container_count)
         VALUES ($1, $2, $2, '{}'::jsonb, '{}'::jsonb, 1)
         ON CONFLICT (name) DO UPDATE SET container_count = a.container_count + 1`,
        [account, timestamp],
      );
      return { created: true, record: toContainer(ins.rows[0]) };
    });
  }

  async updateContainer(account: string, container: string, update: ContainerUpdate, timestamp: string): Promise<ContainerRecord> {
    void timestamp; // Swift keeps put_timestamp on POST, as the LevelDB store does.
    return this.tx(async (c) => {
      const existing = await this.lockContainer(c, account, container);
      if (!existing) throw errors.containerNotFound(container);
      const record: ContainerRecord = {
        ...existing,
        meta: applyPatch(existing.meta, update.meta),
        sysmeta: applyPatch(existing.sysmeta, update.sysmeta),
        readAcl: update.readAcl ?? existing.readAcl,
        writeAcl: update.writeAcl ?? existing.writeAcl,
      };
      await this.q(c, 
        `UPDATE ${this.t.containers} SET meta = $3::jsonb, sysmeta = $4::jsonb, read_acl = $5, write_acl = $6 WHERE account = $1 AND name = $2`,
        [account, container, json(record.meta), json(record.sysmeta), record.readAcl, record.writeAcl],
      );
      return record;
    });
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    await this.tx(async (c) => {
      const existing = await this.lockContainer(c, account, container);
      if (!existing) throw errors.containerNotFound(container);
      if (existing.objectCount > 0) throw errors.containerNotEmpty(container);
      await this.q(c, `DELETE FROM ${this.t.containers} WHERE account = $1 AND name = $2`, [account, container]);
      await this.q(c, `UPDATE ${this.t.accounts} SET container_count = GREATEST(0, container_count - 1) WHERE name = $1`, [account]);
    });
  }

  // ------------------------------------------------------------------- objects

  async getObject(account: string, container: string, name: string): Promise<ObjectRecord | undefined> {
    const [row] = await this.rows<ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM ${this.t.objects} WHERE account = $1 AND container = $2 AND name = $3`,
      [account, container, name],
    );
    return row && toObject(row);
  }

  async commitObjects(account: string, container: string, changes: ObjectChange[]): Promise<ObjectCommitResult> {
    return this.tx(async (c) => {
      // The container row lock serializes every count-changing commit in the container,
      // so two gateways overwriting one name cannot both count it as new.
      const cont = await this.q<{ created_at: string }>(c, 
        `SELECT created_at FROM ${this.t.containers} WHERE account = $1 AND name = $2 FOR UPDATE`,
        [account, container],
      );
      const createdAt = cont.rows[0]?.created_at;
      if (createdAt === undefined) throw errors.containerNotFound(container);
      const stored = new Map<string, ObjectRecord>();
      const names = touchedNames(changes);
      if (names.length > 0) {
        const r = await this.q<ObjectRow>(c, 
          `SELECT ${OBJECT_COLUMNS} FROM ${this.t.objects} WHERE account = $1 AND container = $2 AND name = ANY($3::text[]) FOR UPDATE`,
          [account, container, names],
        );
        for (const row of r.rows) stored.set(row.name, toObject(row));
      }
      const plan = planCommit(account, container, changes, stored);

      if (plan.deletes.length > 0)
        await this.q(c, `DELETE FROM ${this.t.objects} WHERE account = $1 AND container = $2 AND name = ANY($3::text[])`, [
          account,
          container,
          plan.deletes,
        ]);
      // The rest in one statement: one round trip whatever the commit holds.
      const params: unknown[] = [account, container];
      const p = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const ctes: string[] = [];
      if (plan.upserts.length > 0) {
        const u = plan.upserts;
        ctes.push(`up AS (
          INSERT INTO ${this.t.objects} (account, container, name, size, etag, content_type, ts, meta_ts, blob_id, meta, headers, delete_at)
          SELECT $1, $2, u.name, u.size, u.etag, u.ct, u.ts, u.mts, u.blob, u.meta::jsonb, u.headers::jsonb, u.del
          FROM unnest(${p(u.map((r) => r.name))}::text[], ${p(u.map((r) => r.size))}::bigint[], ${p(u.map((r) => r.etag))}::text[],
                      ${p(u.map((r) => r.contentType))}::text[], ${p(u.map((r) => r.timestamp))}::text[], ${p(u.map((r) => r.metaTimestamp))}::text[],
                      ${p(u.map((r) => r.blobId))}::text[], ${p(u.map((r) => json(r.meta)))}::text[], ${p(u.map((r) => json(r.headers)))}::text[],
                      ${p(u.map((r) => r.deleteAt ?? null))}::bigint[])
               AS u(name, size, etag, ct, ts, mts, blob, meta, headers, del)
          ON CONFLICT (account, container, name) DO UPDATE SET
            size = EXCLUDED.size, etag = EXCLUDED.etag, content_type = EXCLUDED.content_type, ts = EXCLUDED.ts,
            meta_ts = EXCLUDED.meta_ts, blob_id = EXCLUDED.blob_id, meta = EXCLUDED.meta, headers = EXCLUDED.headers,
            delete_at = EXCLUDED.delete_at)`);
      }
      if (plan.unpend.length > 0) ctes.push(`unpend AS (DELETE FROM ${this.t.pending} WHERE blob_id = ANY(${p(plan.unpend)}::text[]))`);
      if (plan.result.garbage.length > 0)
        ctes.push(
          `garbage AS (INSERT INTO ${this.t.garbage} (blob_id) SELECT unnest(${p(plan.result.garbage)}::text[]) ON CONFLICT DO NOTHING)`,
        );
      // $1 and $2 must appear somewhere or the server cannot type them.
      const noop = 'SELECT $1::text, $2::text';
      let final = noop;
      if (plan.dCount !== 0 || plan.dBytes !== 0) {
        const dc = p(plan.dCount);
        const db = p(plan.dBytes);
        ctes.push(
          `counts AS (UPDATE ${this.t.containers} SET object_count = object_count + ${dc}::bigint, bytes_used = bytes_used + ${db}::bigint
                      WHERE account = $1 AND name = $2)`,
        );
        // A missing account row is created, as the LevelDB store does.
        final = `INSERT INTO ${this.t.accounts} AS a (name, created_at, put_timestamp, meta, sysmeta, object_count, bytes_used)
                 VALUES ($1, ${p(createdAt)}, ${p(createdAt)}, '{}'::jsonb, '{}'::jsonb, ${dc}::bigint, ${db}::bigint)
                 ON CONFLICT (name) DO UPDATE SET object_count = a.object_count + EXCLUDED.object_count, bytes_used = a.bytes_used + EXCLUDED.bytes_used`;
      }
      if (ctes.length > 0 || final !== noop) await this.q(c, `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}${final}`, params);
      return plan.result;
    });
  }

  async updateObjectMeta(
    account: string,
    container: string,
    name: string,
    update: { meta?: MetadataPatch; headers?: Record<string, string | null>; contentType?: string; deleteAt?: number | null },
    timestamp: string,
  ): Promise<ObjectRecord> {
    return this.tx(async (c) => {
      const r = await this.q<ObjectRow>(c, 
        `SELECT ${OBJECT_COLUMNS} FROM ${this.t.objects} WHERE account = $1 AND container = $2 AND name = $3 FOR UPDATE`,
        [account, container, name],
      );
      const prev = r.rows[0] && toObject(r.rows[0]);
      if (!prev) throw errors.objectNotFound(name);
      const headers = { ...prev.headers };
      for (const [k, v] of Object.entries(update.headers ?? {})) {
        if (v === null) delete headers[k];
        else headers[k] = v;
      }
      const record: ObjectRecord = {
        ...prev,
        meta: applyPatch(prev.meta, update.meta),
        headers,
        contentType: update.contentType ?? prev.contentType,
        metaTimestamp: timestamp,
      };
      if (update.deleteAt === null) delete record.deleteAt;
      else if (update.deleteAt !== undefined) record.deleteAt = update.deleteAt;
      await this.q(c, 
        `UPDATE ${this.t.objects} SET meta = $4::jsonb, headers = $5::jsonb, content_type = $6, meta_ts = $7, delete_at = $8
         WHERE account = $1 AND container = $2 AND name = $3`,
        [account, container, name, json(record.meta), json(record.headers), record.contentType, timestamp, record.deleteAt ?? null],
      );
      return record;
    });
  }

  async listObjects(account: string, container: string, query: ListQuery): Promise<ObjectListing> {
    type Row = { name: string; size: number; etag: string; content_type: string; meta_ts: string };
    return scanListing<Row, ObjectListEntry>(
      query,
      (range: ScanRange) =>
        keysetCursor<Row, Row>(
          this.pool,
          {
            select: `SELECT name, size, etag, content_type, meta_ts FROM ${this.t.objects} WHERE account = $1 AND container = $2`,
            params: [account, container],
            map: (r) => r,
          },
          range,
          batchSizes(query),
          this.prepare,
        ),
      (name, o) => ({ kind: 'object', name, size: o.size, etag: o.etag, contentType: o.content_type, lastModified: o.meta_ts }),
    );
  }

  async listExpiredObjects(nowSeconds: number, limit: number): Promise<Array<{ account: string; container: string; name: string; deleteAt: number }>> {
    const rows = await this.rows<{ account: string; container: string; name: string; delete_at: number }>(
      `SELECT account, container, name, delete_at FROM ${this.t.objects}
       WHERE delete_at IS NOT NULL AND delete_at <= $1 ORDER BY delete_at, account, container, name LIMIT $2`,
      [nowSeconds, limit],
    );
    return rows.map((r) => ({ account: r.account, container: r.container, name: r.name, deleteAt: r.delete_at }));
  }

  // ------------------------------------------------------- blob bookkeeping

  async addPendingBlob(blobId: string): Promise<void> {
    await this.rows(
      `INSERT INTO ${this.t.pending} (blob_id, added_at) VALUES ($1, $2) ON CONFLICT (blob_id) DO UPDATE SET added_at = EXCLUDED.added_at`,
      [blobId, Date.now()],
    );
  }

  async removePendingBlob(blobId: string): Promise<void> {
    await this.rows(`DELETE FROM ${this.t.pending} WHERE blob_id = $1`, [blobId]);
  }

  async listPendingBlobs(beforeMs: number, limit: number): Promise<string[]> {
    const rows = await this.rows<{ blob_id: string }>(
      `SELECT blob_id FROM ${this.t.pending} WHERE added_at < $1 ORDER BY blob_id LIMIT $2`,
      [beforeMs, limit],
    );
    return rows.map((r) => r.blob_id);
  }

  async listGarbageBlobs(limit: number): Promise<string[]> {
    const rows = await this.rows<{ blob_id: string }>(`SELECT blob_id FROM ${this.t.garbage} ORDER BY blob_id LIMIT $1`, [limit]);
    return rows.map((r) => r.blob_id);
  }

  async clearGarbageBlob(blobId: string): Promise<void> {
    await this.rows(`DELETE FROM ${this.t.garbage} WHERE blob_id = $1`, [blobId]);
  }

  // ------------------------------------------------------------------ identity

  async getUser(account: string, user: string): Promise<UserRecord | undefined> {
    const [row] = await this.rows<UserRow>(
      `SELECT account, user_name, key_hash, groups, created_at FROM ${this.t.users} WHERE account = $1 AND user_name = $2`,
      [account, user],
    );
    return row && toUser(row);
  }

  async putUser(record: UserRecord): Promise<void> {
    await this.rows(
      `INSERT INTO ${this.t.users} (account, user_name, key_hash, groups, created_at) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (account, user_name) DO UPDATE SET key_hash = EXCLUDED.key_hash, groups = EXCLUDED.groups, created_at = EXCLUDED.created_at`,
      [record.account, record.user, record.keyHash, json(record.groups), record.createdAt],
    );
  }

  async deleteUser(account: string, user: string): Promise<boolean> {
    const rows = await this.rows(`DELETE FROM ${this.t.users} WHERE account = $1 AND user_name = $2 RETURNING 1 AS gone`, [account, user]);
    return rows.length > 0;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.rows<UserRow>(`SELECT account, user_name, key_hash, groups, created_at FROM ${this.t.users} ORDER BY account, user_name`);
    return rows.map(toUser);
  }

  async putToken(record: TokenRecord): Promise<void> {
    await this.rows(
      `INSERT INTO ${this.t.tokens} (token_hash, account, user_name, groups, expires_at) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (token_hash) DO UPDATE SET account = EXCLUDED.account, user_name = EXCLUDED.user_name, groups = EXCLUDED.groups,
         expires_at = EXCLUDED.expires_at`,
      [record.tokenHash, record.account, record.user, json(record.groups), record.expiresAt],
    );
  }

  async getToken(tokenHash: string): Promise<TokenRecord | undefined> {
    const [row] = await this.rows<TokenRow>(
      `SELECT token_hash, account, user_name, groups, expires_at FROM ${this.t.tokens} WHERE token_hash = $1`,
      [tokenHash],
    );
    return row && toToken(row);
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.rows(`DELETE FROM ${this.t.tokens} WHERE token_hash = $1`, [tokenHash]);
  }

  async deleteUserTokens(account: string, user: string): Promise<number> {
    const rows = await this.rows(`DELETE FROM ${this.t.tokens} WHERE account = $1 AND user_name = $2 RETURNING 1 AS gone`, [account, user]);
    return rows.length;
  }

  async purgeExpiredTokens(nowMs: number): Promise<number> {
    const rows = await this.rows(`DELETE FROM ${this.t.tokens} WHERE expires_at <= $1 RETURNING 1 AS gone`, [nowMs]);
    return rows.length;
  }

  async claimDomain(record: DomainRecord): Promise<void> {
    // One statement: the conflicting row is locked and kept unless it is ours already.
    const rows = await this.rows(
      `INSERT INTO ${this.t.domains} AS d (domain, account, container, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (domain) DO UPDATE SET account = EXCLUDED.account, container = EXCLUDED.container, created_at = EXCLUDED.created_at
       WHERE d.account = EXCLUDED.account
       RETURNING 1 AS claimed`,
      [record.domain, record.account, record.container, record.createdAt],
    );
    if (rows.length === 0) throw errors.conflict(`domain ${record.domain} belongs to another account`);
  }

  async getDomain(domain: string): Promise<DomainRecord | undefined> {
    const [row] = await this.rows<DomainRow>(
      `SELECT domain, account, container, created_at FROM ${this.t.domains} WHERE domain = $1`,
      [domain],
    );
    return row && toDomain(row);
  }

  async listDomains(account?: string): Promise<DomainRecord[]> {
    const rows =
      account === undefined
        ? await this.rows<DomainRow>(`SELECT domain, account, container, created_at FROM ${this.t.domains} ORDER BY domain`)
        : await this.rows<DomainRow>(
            `SELECT domain, account, container, created_at FROM ${this.t.domains} WHERE account = $1 ORDER BY domain`,
            [account],
          );
    return rows.map(toDomain);
  }

  async removeDomain(domain: string): Promise<boolean> {
    const rows = await this.rows(`DELETE FROM ${this.t.domains} WHERE domain = $1 RETURNING 1 AS gone`, [domain]);
    return rows.length > 0;
  }

  // ---------------------------------------------------------------- maintenance

  async *scanAccounts(): AsyncIterable<AccountRecord> {
    for await (const row of this.scan<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM ${this.t.accounts} WHERE true`, []))
      yield toAccount(row);
  }

  async *scanContainers(account: string): AsyncIterable<ContainerRecord> {
    for await (const row of this.scan<ContainerRow>(`SELECT ${CONTAINER_COLUMNS} FROM ${this.t.containers} WHERE account = $1`, [account]))
      yield toContainer(row);
  }

  async *scanObjects(account: string, container: string): AsyncIterable<ObjectRecord> {
    for await (const row of this.scan<ObjectRow>(`SELECT ${OBJECT_COLUMNS} FROM ${this.t.objects} WHERE account = $1 AND container = $2`, [
      account,
      container,
    ]))
      yield toObject(row);
  }

  async setContainerStats(account: string, container: string, stats: { objectCount: number; bytesUsed: number }): Promise<void> {
    const rows = await this.rows(
      `UPDATE ${this.t.containers} SET object_count = $3, bytes_used = $4 WHERE account = $1 AND name = $2 RETURNING 1 AS hit`,
      [account, container, stats.objectCount, stats.bytesUsed],
    );
    if (rows.length === 0) throw errors.containerNotFound(container);
  }

  async setAccountStats(account: string, stats: { containerCount: number; objectCount: number; bytesUsed: number }): Promise<void> {
    const rows = await this.rows(
      `UPDATE ${this.t.accounts} SET container_count = $2, object_count = $3, bytes_used = $4 WHERE name = $1 RETURNING 1 AS hit`,
      [account, stats.containerCount, stats.objectCount, stats.bytesUsed],
    );
    if (rows.length === 0) throw errors.accountNotFound(account);
  }

  // ------------------------------------------------------------------ helpers

  /** A statement inside a transaction. */
  private q<R extends QueryResultRow = QueryResultRow>(c: PoolClient, sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    return c.query<R>(statement(sql, params, this.prepare));
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn, { attempts: this.txAttempts });
  }

  /** One autocommit statement. */
  private async rows<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(statement(sql, params, this.prepare))).rows;
    } catch (err) {
      throw mapError(err);
    }
  }

  /** Keyset pages over `name` (within whatever `select` fixes), without holding a connection between pages. */
  private async *scan<R extends QueryResultRow & { name: string }>(select: string, params: unknown[]): AsyncIterable<R> {
    let after: string | undefined;
    for (;;) {
      const bound = after === undefined ? '' : ` AND name > $${params.length + 1}`;
      const page = await this.rows<R>(`${select}${bound} ORDER BY name LIMIT ${SCAN_PAGE}`, after === undefined ? params : [...params, after]);
      for (const row of page) yield row;
      if (page.length < SCAN_PAGE) return;
      after = (page[page.length - 1] as R).name;
    }
  }

  private async lockAccount(c: PoolClient, account: string): Promise<AccountRecord | undefined> {
    const r = await this.q<AccountRow>(c, `SELECT ${ACCOUNT_COLUMNS} FROM ${this.t.accounts} WHERE name = $1 FOR UPDATE`, [account]);
    return r.rows[0] && toAccount(r.rows[0]);
  }

  private async writeAccountMeta(c: PoolClient, record: AccountRecord): Promise<void> {
    await this.q(c, `UPDATE ${this.t.accounts} SET meta = $2::jsonb, sysmeta = $3::jsonb WHERE name = $1`, [
      record.name,
      json(record.meta),
      json(record.sysmeta),
    ]);
  }

  private async lockContainer(c: PoolClient, account: string, container: string): Promise<ContainerRecord | undefined> {
    const r = await this.q<ContainerRow>(c, 
      `SELECT ${CONTAINER_COLUMNS} FROM ${this.t.containers} WHERE account = $1 AND name = $2 FOR UPDATE`,
      [account, container],
    );
    return r.rows[0] && toContainer(r.rows[0]);
  }
}

/**
 * Without a delimiter every row in range is listed, so fetch the page at once; with one,
 * most rows are followed by a seek, so start small and let the cursor grow its batches.
 */
function batchSizes(q: ListQuery): BatchSizes {
  const limit = Math.max(1, Math.min(q.limit, 10_000));
  const delimited = Boolean(q.delimiter) || q.path !== undefined;
  return delimited ? { first: Math.min(limit, 16), max: Math.min(limit, 1000) } : { first: Math.min(limit, 1000), max: 1000 };
}

function dropEmpty(meta: Metadata | undefined): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta ?? {})) if (v !== '') out[k] = v;
  return out;
}

function describe(o: PostgresStoreOptions): string {
  if (o.connectionString) {
    try {
      const u = new URL(o.connectionString);
      return `${u.hostname}:${u.port || 5432}${u.pathname}`; // never the password
    } catch {
      return '(unparsable connection string)';
    }
  }
  return `${o.pool?.host ?? 'localhost'}:${o.pool?.port ?? 5432}/${o.pool?.database ?? ''}`;
}
