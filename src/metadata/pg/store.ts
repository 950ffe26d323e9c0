/**
 * The shared metadata store: PostgreSQL (or a PostgreSQL-compatible distributed
 * database), used by any number of gateways at once. Semantics are those of the LevelDB
 * store, made concurrency-safe by the database instead of an in-process mutex:
 *
 * - every mutation is one transaction; counts and bytes move in the same transaction,
 *   as increments to stats shards (one per connection, summed on read), so a busy
 *   account or container has no single row that serializes its commits;
 * - object commits hold KEY SHARE on the container row (it cannot be deleted under them,
 *   yet they run in parallel) and FOR UPDATE on the object rows they replace; a name
 *   that appears between read and write (a racing create) makes the commit retry;
 * - container deletion and stats overwrites take FOR UPDATE on the container row, which
 *   waits for the commits in flight, then re-read the sums;
 * - lock order is container → objects → stats everywhere; serialization failures and
 *   deadlocks (40001, 40P01) are retried.
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
import { applyPatch, dropEmpty, newAccount, newContainer } from '../records.ts';
import { scanListing } from '../listing-scan.ts';
import type {
  AccountUpdate,
  CommitOptions,
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
import { detectFlavor, inTransaction, mapError, pgTypes, statement, type Tables, tables } from './db.ts';
import { migrate, schemaVersion } from './migrations.ts';
import { planCommit, touchedNames } from './object-commit.ts';
import { type Queries, queries } from './queries.ts';
import {
  type AccountRow,
  type ContainerRow,
  type DomainRow,
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
  /** Serialize migrators with an advisory lock (default: yes, except on CockroachDB; falls back to none where missing). */
  advisoryLock?: boolean;
  /** Attempts per transaction on serialization failures and deadlocks (default 8). */
  txAttempts?: number;
  /** Named prepared statements (default true); turn off behind PgBouncer < 1.21 in transaction mode. */
  preparedStatements?: boolean;
}

/** Raised inside a transaction to run it again (a row vanished or appeared between two statements). */
class RetryTransaction extends Error {
  readonly code = '40001';
}

/** Stats rows per account and per container: enough that concurrent writers rarely share one. */
const STATS_SHARDS = 8;
const SCAN_PAGE = 500;
const json = (v: unknown): string => JSON.stringify(v);

export class PostgresMetadataStore implements MetadataStore {
  private readonly sql: Queries;
  /** Stats shard of each pooled connection; a connection runs one transaction at a time. */
  private readonly shards = new WeakMap<PoolClient, number>();
  private nextShard = Math.floor(Math.random() * STATS_SHARDS);

  private constructor(
    readonly pool: Pool,
    readonly schema: string,
    private readonly t: Tables,
    private readonly txAttempts: number,
    private readonly prepare: boolean,
  ) {
    this.sql = queries(t);
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
    let t: Tables;
    try {
      const flavor = await detectFlavor(pool);
      t = tables(schema, flavor);
      // CockroachDB's advisory locks were no-op stubs before v26: do not pretend to hold one.
      const advisoryLock = options.advisoryLock ?? flavor !== 'cockroach';
      if (options.migrate !== false) await migrate(pool, t, schema, { advisoryLock });
    } catch (err) {
      await pool.end().catch(() => {});
      throw mapError(err, `metadata database ${describe(options)}`);
    }
    return new PostgresMetadataStore(pool, schema, t, options.txAttempts ?? 8, options.preparedStatements !== false);
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
    const [row] = await this.rows<AccountRow>(this.sql.getAccount, [account]);
    return row && toAccount(row);
  }

  async createAccount(account: string, timestamp: string, init?: AccountUpdate): Promise<{ created: boolean; record: AccountRecord }> {
    return this.tx(async (c) => {
      const meta = applyPatch({}, init?.meta);
      const sysmeta = applyPatch({}, init?.sysmeta);
      const ins = await this.q(c, this.sql.insertAccount, [account, timestamp, json(meta), json(sysmeta)]);
      if (ins.rowCount) return { created: true, record: newAccount(account, timestamp, meta, sysmeta) };
      const existing = await this.lockAccountMeta(c, account);
      if (!existing) throw new RetryTransaction('account vanished');
      const record = { ...existing, meta: applyPatch(existing.meta, init?.meta), sysmeta: applyPatch(existing.sysmeta, init?.sysmeta) };
      if (init) await this.q(c, this.sql.writeAccountMeta, [account, json(record.meta), json(record.sysmeta)]);
      return { created: false, record };
    });
  }

  async updateAccount(account: string, update: AccountUpdate, timestamp: string): Promise<AccountRecord> {
    return this.tx(async (c) => {
      const existing = await this.lockAccountMeta(c, account);
      if (existing) {
        const record = { ...existing, meta: applyPatch(existing.meta, update.meta), sysmeta: applyPatch(existing.sysmeta, update.sysmeta) };
        await this.q(c, this.sql.writeAccountMeta, [account, json(record.meta), json(record.sysmeta)]);
        return record;
      }
      const meta = applyPatch({}, update.meta);
      const sysmeta = applyPatch({}, update.sysmeta);
      const ins = await this.q(c, this.sql.insertAccount, [account, timestamp, json(meta), json(sysmeta)]);
      if (!ins.rowCount) throw new RetryTransaction('account appeared');
      return newAccount(account, timestamp, meta, sysmeta);
    });
  }

  async deleteAccount(account: string): Promise<void> {
    await this.tx(async (c) => {
      // FOR UPDATE waits for container creations in flight (they hold KEY SHARE); the
      // count read after it includes them.
      const locked = await this.q(c, this.sql.lockAccountForDelete, [account]);
      if (!locked.rowCount) throw errors.accountNotFound(account);
      const n = await this.q<{ n: number }>(c, this.sql.accountContainerCount, [account]);
      if ((n.rows[0]?.n ?? 0) > 0) throw errors.accountNotEmpty(account);
      await this.q(c, this.sql.deleteAccount, [account]);
    });
  }

  async listContainers(account: string, query: ListQuery): Promise<ContainerListing> {
    type Row = { name: string; object_count: number; bytes_used: number; put_timestamp: string };
    return scanListing<Row, ContainerListEntry>(
      query,
      (range) => keysetCursor<Row, Row>(this.pool, { select: this.sql.listContainers, params: [account], map: (r) => r }, range, batchSizes(query), this.prepare),
      (name, r) => ({ kind: 'container', name, objectCount: r.object_count, bytesUsed: r.bytes_used, lastModified: r.put_timestamp }),
    );
  }

  // ---------------------------------------------------------------- containers

  async getContainer(account: string, container: string): Promise<ContainerRecord | undefined> {
    const [row] = await this.rows<ContainerRow>(this.sql.getContainer, [account, container]);
    return row && toContainer(row);
  }

  async createContainer(
    account: string,
    container: string,
    timestamp: string,
    init?: ContainerInit,
  ): Promise<{ created: boolean; record: ContainerRecord }> {
    return this.tx(async (c) => {
      const existing = await this.lockContainerMeta(c, account, container);
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
        await this.q(c, this.sql.updateContainerOnPut, [
          account,
          container,
          timestamp,
          json(record.meta),
          json(record.sysmeta),
          record.readAcl,
          record.writeAcl,
        ]);
        return { created: false, record };
      }
      // The account must exist and stay (KEY SHARE holds off deleteAccount) while the container is added.
      const acct = await this.q(c, this.sql.keyShareAccount, [account]);
      if (!acct.rowCount) {
        const ins = await this.q(c, this.sql.insertAccount, [account, timestamp, '{}', '{}']);
        if (!ins.rowCount) throw new RetryTransaction('account appeared');
      }
      const record = newContainer(account, container, timestamp, init);
      const ins = await this.q(c, this.sql.insertContainer, [
        account,
        container,
        timestamp,
        json(record.meta),
        json(record.sysmeta),
        record.readAcl,
        record.writeAcl,
        record.policy,
        this.shard(c),
      ]);
      if (!ins.rowCount) throw new RetryTransaction('container appeared');
      return { created: true, record };
    });
  }

  async updateContainer(account: string, container: string, update: ContainerUpdate, timestamp: string): Promise<ContainerRecord> {
    return this.tx(async (c) => {
      const existing = await this.lockContainerMeta(c, account, container);
      if (!existing) throw errors.containerNotFound(container);
      const record: ContainerRecord = {
        ...existing,
        meta: applyPatch(existing.meta, update.meta),
        sysmeta: applyPatch(existing.sysmeta, update.sysmeta),
        readAcl: update.readAcl ?? existing.readAcl,
        writeAcl: update.writeAcl ?? existing.writeAcl,
        // Swift's container POST moves put_timestamp (its Last-Modified) forward.
        putTimestamp: timestamp,
      };
      await this.q(c, this.sql.updateContainerOnPut, [
        account,
        container,
        timestamp,
        json(record.meta),
        json(record.sysmeta),
        record.readAcl,
        record.writeAcl,
      ]);
      return record;
    });
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    await this.tx(async (c) => {
      const locked = await this.q(c, this.sql.lockContainerExclusive, [account, container]);
      if (!locked.rowCount) throw errors.containerNotFound(container);
      const n = await this.q<{ n: number }>(c, this.sql.containerObjectCount, [account, container]);
      if ((n.rows[0]?.n ?? 0) > 0) throw errors.containerNotEmpty(container);
      await this.q(c, this.sql.deleteContainer, [account, container, this.shard(c)]);
    });
  }

  // ------------------------------------------------------------------- objects

  async getObject(account: string, container: string, name: string): Promise<ObjectRecord | undefined> {
    const [row] = await this.rows<ObjectRow>(this.sql.getObject, [account, container, name]);
    return row && toObject(row);
  }

  /** Nothing to do: commits are durable when they resolve. */
  async sync(): Promise<void> {}

  /** Small objects are not kept inline here (yet): the gateway turns inlining off for this store. */
  async getInlineBlob(_blobId: string): Promise<Buffer | undefined> {
    return undefined;
  }

  /** Every commit here is durable (a transaction); `CommitOptions.durable` changes nothing. */
  async commitObjects(account: string, container: string, changes: ObjectChange[], _opts?: CommitOptions): Promise<ObjectCommitResult> {
    if (changes.some((ch) => ch.op === 'put' && (ch.inline !== undefined || ch.record.inline)))
      throw errors.invalidArgument('the PostgreSQL store does not keep object bytes inline (set blobs.inline_max_bytes = 0)');
    return this.tx(async (c) => {
      const cont = await this.q<{ created_at: string }>(c, this.sql.keyShareContainer, [account, container]);
      const createdAt = cont.rows[0]?.created_at;
      if (createdAt === undefined) throw errors.containerNotFound(container);
      const stored = new Map<string, ObjectRecord>();
      const names = touchedNames(changes);
      if (names.length > 0) {
        const r = await this.q<ObjectRow>(c, this.sql.lockObjects, [account, container, names]);
        for (const row of r.rows) stored.set(row.name, toObject(row));
      }
      const plan = planCommit(account, container, changes, stored);
      if (plan.deletes.length > 0) await this.q(c, this.sql.deleteObjects, [account, container, plan.deletes]);

      // The rest in one statement: one round trip whatever the commit holds.
      const params: unknown[] = [account, container];
      const p = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const sql = this.sql.commit;
      const ctes: string[] = [];
      const u = plan.upserts;
      if (u.length > 0)
        ctes.push(
          sql.upsertObjects({
            names: p(u.map((r) => r.name)),
            sizes: p(u.map((r) => r.size)),
            etags: p(u.map((r) => r.etag)),
            types: p(u.map((r) => r.contentType)),
            ts: p(u.map((r) => r.timestamp)),
            metaTs: p(u.map((r) => r.metaTimestamp)),
            blobs: p(u.map((r) => r.blobId)),
            meta: p(u.map((r) => json(r.meta))),
            headers: p(u.map((r) => json(r.headers))),
            deleteAt: p(u.map((r) => r.deleteAt ?? null)),
            existing: p([...stored.keys()]),
          }),
        );
      if (plan.unpend.length > 0) ctes.push(sql.unpend(p(plan.unpend)));
      if (plan.result.garbage.length > 0) ctes.push(sql.garbage(p(plan.result.garbage)));
      if (plan.dCount !== 0 || plan.dBytes !== 0) {
        const shard = p(this.shard(c));
        const dCount = p(plan.dCount);
        const dBytes = p(plan.dBytes);
        ctes.push(sql.ensureAccount(p(createdAt)), sql.containerStats(shard, dCount, dBytes), sql.accountStats(shard, dCount, dBytes));
      }
      if (ctes.length === 0) return plan.result;
      // $1 and $2 must appear in the statement or the server cannot type them.
      const written = await this.q<{ written: number }>(
        c,
        `WITH ${ctes.join(',\n')}\nSELECT ${u.length > 0 ? '(SELECT count(*) FROM up)::int' : '0'} AS written, $1::text AS a, $2::text AS c`,
        params,
      );
      // Fewer rows written than planned: a name we saw absent was created meanwhile.
      if ((written.rows[0]?.written ?? 0) !== u.length) throw new RetryTransaction('object appeared during the commit');
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
      const r = await this.q<ObjectRow>(c, this.sql.lockObject, [account, container, name]);
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
      await this.q(c, this.sql.updateObjectMeta, [
        account,
        container,
        name,
        json(record.meta),
        json(record.headers),
        record.contentType,
        timestamp,
        record.deleteAt ?? null,
      ]);
      return record;
    });
  }

  async listObjects(account: string, container: string, query: ListQuery): Promise<ObjectListing> {
    type Row = { name: string; size: number; etag: string; content_type: string; meta_ts: string };
    return scanListing<Row, ObjectListEntry>(
      query,
      (range) =>
        keysetCursor<Row, Row>(this.pool, { select: this.sql.listObjects, params: [account, container], map: (r) => r }, range, batchSizes(query), this.prepare),
      (name, o) => ({ kind: 'object', name, size: o.size, etag: o.etag, contentType: o.content_type, lastModified: o.meta_ts }),
    );
  }

  async listExpiredObjects(nowSeconds: number, limit: number): Promise<Array<{ account: string; container: string; name: string; deleteAt: number }>> {
    const rows = await this.rows<{ account: string; container: string; name: string; delete_at: number }>(this.sql.listExpired, [nowSeconds, limit]);
    return rows.map((r) => ({ account: r.account, container: r.container, name: r.name, deleteAt: r.delete_at }));
  }

  // ------------------------------------------------------- blob bookkeeping

  async addPendingBlob(blobId: string): Promise<void> {
    await this.rows(this.sql.addPending, [blobId, Date.now()]);
  }

  async removePendingBlob(blobId: string): Promise<void> {
    await this.rows(this.sql.removePending, [blobId]);
  }

  async listPendingBlobs(beforeMs: number, limit: number): Promise<string[]> {
    return (await this.rows<{ blob_id: string }>(this.sql.listPending, [beforeMs, limit])).map((r) => r.blob_id);
  }

  async listGarbageBlobs(limit: number): Promise<string[]> {
    return (await this.rows<{ blob_id: string }>(this.sql.listGarbage, [limit])).map((r) => r.blob_id);
  }

  async clearGarbageBlob(blobId: string): Promise<void> {
    await this.rows(this.sql.clearGarbage, [blobId]);
  }

  // ------------------------------------------------------------------ identity

  async getUser(account: string, user: string): Promise<UserRecord | undefined> {
    const [row] = await this.rows<UserRow>(this.sql.getUser, [account, user]);
    return row && toUser(row);
  }

  async putUser(record: UserRecord): Promise<void> {
    await this.rows(this.sql.putUser, [record.account, record.user, record.keyHash, json(record.groups), record.createdAt]);
  }

  async deleteUser(account: string, user: string): Promise<boolean> {
    return (await this.rows(this.sql.deleteUser, [account, user])).length > 0;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.rows<UserRow>(this.sql.listUsers)).map(toUser);
  }

  async putToken(record: TokenRecord): Promise<void> {
    await this.rows(this.sql.putToken, [record.tokenHash, record.account, record.user, json(record.groups), record.expiresAt]);
  }

  async getToken(tokenHash: string): Promise<TokenRecord | undefined> {
    const [row] = await this.rows<TokenRow>(this.sql.getToken, [tokenHash]);
    return row && toToken(row);
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.rows(this.sql.deleteToken, [tokenHash]);
  }

  async deleteUserTokens(account: string, user: string): Promise<number> {
    return (await this.rows(this.sql.deleteUserTokens, [account, user])).length;
  }

  async purgeExpiredTokens(nowMs: number): Promise<number> {
    return (await this.rows(this.sql.purgeTokens, [nowMs])).length;
  }

  async claimDomain(record: DomainRecord): Promise<void> {
    const rows = await this.rows(this.sql.claimDomain, [record.domain, record.account, record.container, record.createdAt]);
    if (rows.length === 0) throw errors.conflict(`domain ${record.domain} belongs to another account`);
  }

  async getDomain(domain: string): Promise<DomainRecord | undefined> {
    const [row] = await this.rows<DomainRow>(this.sql.getDomain, [domain]);
    return row && toDomain(row);
  }

  async listDomains(account?: string): Promise<DomainRecord[]> {
    const rows =
      account === undefined ? await this.rows<DomainRow>(this.sql.listDomains) : await this.rows<DomainRow>(this.sql.listAccountDomains, [account]);
    return rows.map(toDomain);
  }

  async removeDomain(domain: string): Promise<boolean> {
    return (await this.rows(this.sql.removeDomain, [domain])).length > 0;
  }

  // ---------------------------------------------------------------- maintenance

  async *scanAccounts(): AsyncIterable<AccountRecord> {
    for await (const row of this.scan<AccountRow>(this.sql.scanAccounts, [])) yield toAccount(row);
  }

  async *scanContainers(account: string): AsyncIterable<ContainerRecord> {
    for await (const row of this.scan<ContainerRow>(this.sql.scanContainers, [account])) yield toContainer(row);
  }

  async *scanObjects(account: string, container: string): AsyncIterable<ObjectRecord> {
    for await (const row of this.scan<ObjectRow>(this.sql.scanObjects, [account, container])) yield toObject(row);
  }

  async setContainerStats(account: string, container: string, stats: { objectCount: number; bytesUsed: number }): Promise<void> {
    await this.tx(async (c) => {
      const locked = await this.q(c, this.sql.lockContainerExclusive, [account, container]);
      if (!locked.rowCount) throw errors.containerNotFound(container);
      await this.q(c, this.sql.clearContainerStats, [account, container]);
      await this.q(c, this.sql.setContainerStats, [account, container, stats.objectCount, stats.bytesUsed]);
    });
  }

  async setAccountStats(account: string, stats: { containerCount: number; objectCount: number; bytesUsed: number }): Promise<void> {
    await this.tx(async (c) => {
      const locked = await this.q(c, this.sql.lockAccountForDelete, [account]);
      if (!locked.rowCount) throw errors.accountNotFound(account);
      await this.q(c, this.sql.clearAccountStats, [account]);
      await this.q(c, this.sql.setAccountStats, [account, stats.containerCount, stats.objectCount, stats.bytesUsed]);
    });
  }

  // ------------------------------------------------------------------ helpers

  /** A statement inside a transaction. */
  private q<R extends QueryResultRow = QueryResultRow>(c: PoolClient, sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    return c.query<R>(statement(sql, params, this.prepare));
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn, { attempts: this.txAttempts });
  }

  private shard(c: PoolClient): number {
    let s = this.shards.get(c);
    if (s === undefined) {
      s = this.nextShard++ % STATS_SHARDS;
      this.shards.set(c, s);
    }
    return s;
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

  private async lockAccountMeta(c: PoolClient, account: string): Promise<AccountRecord | undefined> {
    const r = await this.q<AccountRow>(c, this.sql.lockAccountMeta, [account]);
    return r.rows[0] && toAccount(r.rows[0]);
  }

  private async lockContainerMeta(c: PoolClient, account: string, container: string): Promise<ContainerRecord | undefined> {
    const r = await this.q<ContainerRow>(c, this.sql.lockContainerMeta, [account, container]);
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
