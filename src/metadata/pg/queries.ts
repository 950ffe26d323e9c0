/**
 * The SQL of the PostgreSQL store, built once per schema. Counts are sums over the
 * stats shards (see migrations.ts), read with a LATERAL subquery: one index probe per
 * account or container row.
 */
import type { Tables } from './db.ts';

export const OBJECT_COLUMNS = 'account, container, name, size, etag, content_type, ts, meta_ts, blob_id, meta, headers, delete_at';
const PLAIN_ACCOUNT = 'a.name, a.created_at, a.put_timestamp, a.meta, a.sysmeta';
const PLAIN_CONTAINER = 'c.account, c.name, c.created_at, c.put_timestamp, c.meta, c.sysmeta, c.read_acl, c.write_acl, c.policy';

export function queries(t: Tables) {
  const accountCounts = `LEFT JOIN LATERAL (
      SELECT SUM(container_count) AS cc, SUM(object_count) AS oc, SUM(bytes_used) AS bu FROM ${t.accountStats} st WHERE st.account = a.name
    ) s ON true`;
  const containerCounts = `LEFT JOIN LATERAL (
      SELECT SUM(object_count) AS oc, SUM(bytes_used) AS bu FROM ${t.containerStats} st WHERE st.account = c.account AND st.container = c.name
    ) s ON true`;
  const accountWithCounts = `SELECT ${PLAIN_ACCOUNT}, COALESCE(s.cc, 0)::bigint AS container_count,
      COALESCE(s.oc, 0)::bigint AS object_count, COALESCE(s.bu, 0)::bigint AS bytes_used
    FROM ${t.accounts} a ${accountCounts}`;
  const containerWithCounts = `SELECT ${PLAIN_CONTAINER}, COALESCE(s.oc, 0)::bigint AS object_count, COALESCE(s.bu, 0)::bigint AS bytes_used
    FROM ${t.containers} c ${containerCounts}`;
  const upsertAccountStats = `INSERT INTO ${t.accountStats} AS st (account, shard, container_count, object_count, bytes_used)`;
  const onAccountStats = `ON CONFLICT (account, shard) DO UPDATE SET container_count = st.container_count + EXCLUDED.container_count,
      object_count = st.object_count + EXCLUDED.object_count, bytes_used = st.bytes_used + EXCLUDED.bytes_used`;

  return {
    // accounts
    getAccount: `${accountWithCounts} WHERE a.name = $1`,
    scanAccounts: `${accountWithCounts} WHERE true`,
    /** Locks against meta changes, not against container creation (which takes KEY SHARE). */
    lockAccountMeta: `${accountWithCounts} WHERE a.name = $1 FOR NO KEY UPDATE OF a`,
    lockAccountForDelete: `SELECT name FROM ${t.accounts} WHERE name = $1 FOR UPDATE`,
    keyShareAccount: `SELECT name FROM ${t.accounts} WHERE name = $1 FOR KEY SHARE`,
    insertAccount: `INSERT INTO ${t.accounts} (name, created_at, put_timestamp, meta, sysmeta)
      VALUES ($1, $2, $2, $3::jsonb, $4::jsonb) ON CONFLICT (name) DO NOTHING RETURNING name`,
    writeAccountMeta: `UPDATE ${t.accounts} SET meta = $2::jsonb, sysmeta = $3::jsonb WHERE name = $1`,
    accountContainerCount: `SELECT COALESCE(SUM(container_count), 0)::bigint AS n FROM ${t.accountStats} WHERE account = $1`,
    deleteAccount: `WITH st AS (DELETE FROM ${t.accountStats} WHERE account = $1) DELETE FROM ${t.accounts} WHERE name = $1`,
    clearAccountStats: `DELETE FROM ${t.accountStats} WHERE account = $1`,
    setAccountStats: `INSERT INTO ${t.accountStats} (account, shard, container_count, object_count, bytes_used) VALUES ($1, 0, $2, $3, $4)`,

    // containers
    getContainer: `${containerWithCounts} WHERE c.account = $1 AND c.name = $2`,
    scanContainers: `${containerWithCounts} WHERE c.account = $1`,
    listContainers: `SELECT c.name, c.put_timestamp, COALESCE(s.oc, 0)::bigint AS object_count, COALESCE(s.bu, 0)::bigint AS bytes_used
      FROM ${t.containers} c ${containerCounts} WHERE c.account = $1`,
    /** Settings changes: object commits (KEY SHARE) go on meanwhile. */
    lockContainerMeta: `${containerWithCounts} WHERE c.account = $1 AND c.name = $2 FOR NO KEY UPDATE OF c`,
    /** Deletion and stats overwrites: waits for, and then blocks, object commits. */
    lockContainerExclusive: `SELECT name FROM ${t.containers} WHERE account = $1 AND name = $2 FOR UPDATE`,
    /** Object commits: the container may not go away meanwhile, but commits run in parallel. */
    keyShareContainer: `SELECT created_at FROM ${t.containers} WHERE account = $1 AND name = $2 FOR KEY SHARE`,
    /** $1 account, $2 name, $3 timestamp, $4 meta, $5 sysmeta, $6 read, $7 write, $8 policy, $9 shard. */
    insertContainer: `WITH ins AS (
        INSERT INTO ${t.containers} (account, name, created_at, put_timestamp, meta, sysmeta, read_acl, write_acl, policy)
        VALUES ($1, $2, $3, $3, $4::jsonb, $5::jsonb, $6, $7, $8) ON CONFLICT (account, name) DO NOTHING RETURNING name
      ), counted AS (
        ${upsertAccountStats} SELECT $1, $9, 1, 0, 0 FROM ins ${onAccountStats}
      ) SELECT name FROM ins`,
    updateContainerOnPut: `UPDATE ${t.containers} SET put_timestamp = $3, meta = $4::jsonb, sysmeta = $5::jsonb, read_acl = $6, write_acl = $7
      WHERE account = $1 AND name = $2`,
    containerObjectCount: `SELECT COALESCE(SUM(object_count), 0)::bigint AS n FROM ${t.containerStats} WHERE account = $1 AND container = $2`,
    /** $3 shard. The account's count never goes below zero (as in the LevelDB store). */
    deleteContainer: `WITH gone AS (DELETE FROM ${t.containers} WHERE account = $1 AND name = $2),
        st AS (DELETE FROM ${t.containerStats} WHERE account = $1 AND container = $2)
      ${upsertAccountStats} SELECT $1, $3, -1, 0, 0
        WHERE (SELECT COALESCE(SUM(container_count), 0) FROM ${t.accountStats} WHERE account = $1) > 0
      ${onAccountStats}`,
    clearContainerStats: `DELETE FROM ${t.containerStats} WHERE account = $1 AND container = $2`,
    setContainerStats: `INSERT INTO ${t.containerStats} (account, container, shard, object_count, bytes_used) VALUES ($1, $2, 0, $3, $4)`,

    // objects
    getObject: `SELECT ${OBJECT_COLUMNS} FROM ${t.objects} WHERE account = $1 AND container = $2 AND name = $3`,
    lockObjects: `SELECT ${OBJECT_COLUMNS} FROM ${t.objects} WHERE account = $1 AND container = $2 AND name = ANY($3::text[]) FOR UPDATE`,
    lockObject: `SELECT ${OBJECT_COLUMNS} FROM ${t.objects} WHERE account = $1 AND container = $2 AND name = $3 FOR UPDATE`,
    deleteObjects: `DELETE FROM ${t.objects} WHERE account = $1 AND container = $2 AND name = ANY($3::text[])`,
    updateObjectMeta: `UPDATE ${t.objects} SET meta = $4::jsonb, headers = $5::jsonb, content_type = $6, meta_ts = $7, delete_at = $8
      WHERE account = $1 AND container = $2 AND name = $3`,
    listObjects: `SELECT name, size, etag, content_type, meta_ts FROM ${t.objects} WHERE account = $1 AND container = $2`,
    scanObjects: `SELECT ${OBJECT_COLUMNS} FROM ${t.objects} WHERE account = $1 AND container = $2`,
    listExpired: `SELECT account, container, name, delete_at FROM ${t.objects}
      WHERE delete_at IS NOT NULL AND delete_at <= $1 ORDER BY delete_at, account, container, name LIMIT $2`,

    /** Pieces of the one statement that applies a commit plan (see store.commitObjects). */
    commit: {
      upsertObjects: (p: Record<'names' | 'sizes' | 'etags' | 'types' | 'ts' | 'metaTs' | 'blobs' | 'meta' | 'headers' | 'deleteAt' | 'existing', string>) =>
        `up AS (
          INSERT INTO ${t.objects} AS o (account, container, name, size, etag, content_type, ts, meta_ts, blob_id, meta, headers, delete_at)
          SELECT $1, $2, u.name, u.size, u.etag, u.ct, u.ts, u.mts, u.blob, u.meta::jsonb, u.headers::jsonb, u.del
          FROM unnest(${p.names}::text[], ${p.sizes}::bigint[], ${p.etags}::text[], ${p.types}::text[], ${p.ts}::text[],
                      ${p.metaTs}::text[], ${p.blobs}::text[], ${p.meta}::text[], ${p.headers}::text[], ${p.deleteAt}::bigint[])
               AS u(name, size, etag, ct, ts, mts, blob, meta, headers, del)
          ON CONFLICT (account, container, name) DO UPDATE SET
            size = EXCLUDED.size, etag = EXCLUDED.etag, content_type = EXCLUDED.content_type, ts = EXCLUDED.ts,
            meta_ts = EXCLUDED.meta_ts, blob_id = EXCLUDED.blob_id, meta = EXCLUDED.meta, headers = EXCLUDED.headers,
            delete_at = EXCLUDED.delete_at
          -- Only rows this transaction read and locked; a name that appeared since is a race to retry.
          WHERE o.name = ANY(${p.existing}::text[])
          RETURNING 1
        )`,
      unpend: (blobs: string) => `unpend AS (DELETE FROM ${t.pending} WHERE blob_id = ANY(${blobs}::text[]))`,
      garbage: (blobs: string) => `garbage AS (INSERT INTO ${t.garbage} (blob_id) SELECT unnest(${blobs}::text[]) ON CONFLICT DO NOTHING)`,
      /** A missing account row is created, as the LevelDB store does. */
      ensureAccount: (createdAt: string) =>
        `acct AS (INSERT INTO ${t.accounts} (name, created_at, put_timestamp, meta, sysmeta)
                  VALUES ($1, ${createdAt}, ${createdAt}, '{}'::jsonb, '{}'::jsonb) ON CONFLICT (name) DO NOTHING)`,
      containerStats: (shard: string, dCount: string, dBytes: string) =>
        `cst AS (INSERT INTO ${t.containerStats} AS st (account, container, shard, object_count, bytes_used)
                 VALUES ($1, $2, ${shard}, ${dCount}, ${dBytes})
                 ON CONFLICT (account, container, shard) DO UPDATE SET object_count = st.object_count + EXCLUDED.object_count,
                   bytes_used = st.bytes_used + EXCLUDED.bytes_used)`,
      accountStats: (shard: string, dCount: string, dBytes: string) =>
        `ast AS (${upsertAccountStats} VALUES ($1, ${shard}, 0, ${dCount}, ${dBytes}) ${onAccountStats})`,
    },

    // blob bookkeeping
    addPending: `INSERT INTO ${t.pending} (blob_id, added_at) VALUES ($1, $2) ON CONFLICT (blob_id) DO UPDATE SET added_at = EXCLUDED.added_at`,
    removePending: `DELETE FROM ${t.pending} WHERE blob_id = $1`,
    listPending: `SELECT blob_id FROM ${t.pending} WHERE added_at < $1 ORDER BY blob_id LIMIT $2`,
    listGarbage: `SELECT blob_id FROM ${t.garbage} ORDER BY blob_id LIMIT $1`,
    clearGarbage: `DELETE FROM ${t.garbage} WHERE blob_id = $1`,

    // identity
    getUser: `SELECT account, user_name, key_hash, groups, created_at FROM ${t.users} WHERE account = $1 AND user_name = $2`,
    putUser: `INSERT INTO ${t.users} (account, user_name, key_hash, groups, created_at) VALUES ($1, $2, $3, $4::jsonb, $5)
      ON CONFLICT (account, user_name) DO UPDATE SET key_hash = EXCLUDED.key_hash, groups = EXCLUDED.groups, created_at = EXCLUDED.created_at`,
    deleteUser: `DELETE FROM ${t.users} WHERE account = $1 AND user_name = $2 RETURNING 1 AS gone`,
    listUsers: `SELECT account, user_name, key_hash, groups, created_at FROM ${t.users} ORDER BY account, user_name`,
    putToken: `INSERT INTO ${t.tokens} (token_hash, account, user_name, groups, expires_at) VALUES ($1, $2, $3, $4::jsonb, $5)
      ON CONFLICT (token_hash) DO UPDATE SET account = EXCLUDED.account, user_name = EXCLUDED.user_name, groups = EXCLUDED.groups,
        expires_at = EXCLUDED.expires_at`,
    getToken: `SELECT token_hash, account, user_name, groups, expires_at FROM ${t.tokens} WHERE token_hash = $1`,
    deleteToken: `DELETE FROM ${t.tokens} WHERE token_hash = $1`,
    deleteUserTokens: `DELETE FROM ${t.tokens} WHERE account = $1 AND user_name = $2 RETURNING 1 AS gone`,
    purgeTokens: `DELETE FROM ${t.tokens} WHERE expires_at <= $1 RETURNING 1 AS gone`,
    /** One statement: the conflicting row is locked and kept unless it is ours already. */
    claimDomain: `INSERT INTO ${t.domains} AS d (domain, account, container, created_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (domain) DO UPDATE SET account = EXCLUDED.account, container = EXCLUDED.container, created_at = EXCLUDED.created_at
      WHERE d.account = EXCLUDED.account
      RETURNING 1 AS claimed`,
    getDomain: `SELECT domain, account, container, created_at FROM ${t.domains} WHERE domain = $1`,
    listDomains: `SELECT domain, account, container, created_at FROM ${t.domains} ORDER BY domain`,
    listAccountDomains: `SELECT domain, account, container, created_at FROM ${t.domains} WHERE account = $1 ORDER BY domain`,
    removeDomain: `DELETE FROM ${t.domains} WHERE domain = $1 RETURNING 1 AS gone`,
  };
}

export type Queries = ReturnType<typeof queries>;
