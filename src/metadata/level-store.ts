/**
 * The embedded metadata store: one LevelDB, owned by one process. Writes of an account
 * are computed one at a time (KeyedMutex) against the newest state and made durable in
 * shared synced batches (GroupCommitter); reads and listings go straight to LevelDB,
 * which only ever holds committed state.
 */
import { Level } from 'level';
import { errors } from '../core/errors.ts';
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
} from '../core/types.ts';
import { type BatchOp, GroupCommitter, KeyedMutex } from './group-commit.ts';
import { keys } from './keys.ts';
import { applyPatch, dropEmpty, newAccount, newContainer } from './records.ts';
import { type OrderedCursor, type ScanRange, scanListing } from './listing-scan.ts';
import type {
  AccountUpdate,
  ContainerInit,
  ContainerUpdate,
  CommitOptions,
  DomainRecord,
  MetadataStore,
  ObjectChange,
  ObjectCommitResult,
  TokenRecord,
  UserRecord,
} from './store.ts';

export interface LevelStoreOptions {
  /** fsync every commit (default true). Only benchmarks of the metadata layer alone turn it off. */
  sync?: boolean;
}


export class LevelMetadataStore implements MetadataStore {
  private readonly writer: GroupCommitter;
  private readonly accountLocks = new KeyedMutex();
  private readonly identityLocks = new KeyedMutex();

  private constructor(
    private readonly db: Level<string, unknown>,
    options: LevelStoreOptions,
  ) {
    this.writer = new GroupCommitter(db, options.sync !== false);
  }

  static async open(dir: string, options: LevelStoreOptions = {}): Promise<LevelMetadataStore> {
    const db = new Level<string, unknown>(dir, { keyEncoding: 'utf8', valueEncoding: 'json' });
    try {
      await db.open();
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      if (code === 'LEVEL_LOCKED')
        throw errors.storeLocked(`metadata store ${dir} is in use by another process (is the server running?)`);
      throw errors.backendUnavailable(`cannot open metadata store ${dir}`, err);
    }
    return new LevelMetadataStore(db, options);
  }

  async close(): Promise<void> {
    await this.writer.drain();
    await this.db.close();
  }

  // ------------------------------------------------------------------ accounts

  async getAccount(account: string): Promise<AccountRecord | undefined> {
    return (this.db.getSync(keys.account(account))) as AccountRecord | undefined;
  }

  async createAccount(account: string, timestamp: string, init?: AccountUpdate): Promise<{ created: boolean; record: AccountRecord }> {
    let result!: { created: boolean; record: AccountRecord };
    await this.mutate(account, async () => {
      const ops: BatchOp[] = [];
      const existing = await this.writer.read<AccountRecord>(keys.account(account));
      if (existing) {
        const record = { ...existing, meta: applyPatch(existing.meta, init?.meta), sysmeta: applyPatch(existing.sysmeta, init?.sysmeta) };
        if (init) ops.push({ type: 'put', key: keys.account(account), value: record });
        result = { created: false, record };
      } else {
        const record = newAccount(account, timestamp, applyPatch({}, init?.meta), applyPatch({}, init?.sysmeta));
        ops.push({ type: 'put', key: keys.account(account), value: record });
        result = { created: true, record };
      }
      return ops;
    });
    return result;
  }

  async updateAccount(account: string, update: AccountUpdate, timestamp: string): Promise<AccountRecord> {
    let result!: AccountRecord;
    await this.mutate(account, async () => {
      const existing = await this.writer.read<AccountRecord>(keys.account(account));
      const base = existing ?? newAccount(account, timestamp);
      result = { ...base, meta: applyPatch(base.meta, update.meta), sysmeta: applyPatch(base.sysmeta, update.sysmeta) };
      return [{ type: 'put', key: keys.account(account), value: result }];
    });
    return result;
  }

  async deleteAccount(account: string): Promise<void> {
    await this.mutate(account, async () => {
      const existing = await this.writer.read<AccountRecord>(keys.account(account));
      if (!existing) throw errors.accountNotFound(account);
      if (existing.containerCount > 0) throw errors.accountNotEmpty(account);
      return [{ type: 'del', key: keys.account(account) }];
    });
  }

  async listContainers(account: string, query: ListQuery): Promise<ContainerListing> {
    const base = keys.containerPrefix(account);
    return scanListing<ContainerRecord, ContainerListEntry>(
      query,
      (range) => this.cursor<ContainerRecord>(base, range),
      (name, c) => ({ kind: 'container', name, objectCount: c.objectCount, bytesUsed: c.bytesUsed, lastModified: c.putTimestamp }),
    );
  }

  // ---------------------------------------------------------------- containers

  async getContainer(account: string, container: string): Promise<ContainerRecord | undefined> {
    return (this.db.getSync(keys.container(account, container))) as ContainerRecord | undefined;
  }

  async createContainer(
    account: string,
    container: string,
    timestamp: string,
    init?: ContainerInit,
  ): Promise<{ created: boolean; record: ContainerRecord }> {
    let result!: { created: boolean; record: ContainerRecord };
    await this.mutate(account, async () => {
      const ops: BatchOp[] = [];
      const existing = await this.writer.read<ContainerRecord>(keys.container(account, container));
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
        ops.push({ type: 'put', key: keys.container(account, container), value: record });
        result = { created: false, record };
        return ops;
      }
      const acct = (await this.writer.read<AccountRecord>(keys.account(account))) ?? newAccount(account, timestamp);
      const record = newContainer(account, container, timestamp, init);
      ops.push({ type: 'put', key: keys.container(account, container), value: record });
      ops.push({ type: 'put', key: keys.account(account), value: { ...acct, containerCount: acct.containerCount + 1 } });
      result = { created: true, record };
      return ops;
    });
    return result;
  }

  async updateContainer(account: string, container: string, update: ContainerUpdate, timestamp: string): Promise<ContainerRecord> {
    let result!: ContainerRecord;
    await this.mutate(account, async () => {
      const existing = await this.writer.read<ContainerRecord>(keys.container(account, container));
      if (!existing) throw errors.containerNotFound(container);
      result = {
        ...existing,
        meta: applyPatch(existing.meta, update.meta),
        sysmeta: applyPatch(existing.sysmeta, update.sysmeta),
        readAcl: update.readAcl ?? existing.readAcl,
        writeAcl: update.writeAcl ?? existing.writeAcl,
        // Swift's container POST moves put_timestamp (its Last-Modified) forward.
        putTimestamp: timestamp,
      };
      return [{ type: 'put', key: keys.container(account, container), value: result }];
    });
    return result;
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    await this.mutate(account, async () => {
      const existing = await this.writer.read<ContainerRecord>(keys.container(account, container));
      if (!existing) throw errors.containerNotFound(container);
      if (existing.objectCount > 0) throw errors.containerNotEmpty(container);
      const acct = await this.writer.read<AccountRecord>(keys.account(account));
      const ops: BatchOp[] = [{ type: 'del', key: keys.container(account, container) }];
      if (acct) ops.push({ type: 'put', key: keys.account(account), value: { ...acct, containerCount: Math.max(0, acct.containerCount - 1) } });
      return ops;
    });
  }

  // ------------------------------------------------------------------- objects

  async getObject(account: string, container: string, name: string): Promise<ObjectRecord | undefined> {
    return (this.db.getSync(keys.object(account, container, name))) as ObjectRecord | undefined;
  }

  async commitObjects(account: string, container: string, changes: ObjectChange[], opts: CommitOptions = {}): Promise<ObjectCommitResult> {
    const result: ObjectCommitResult = { previous: new Map(), garbage: [] };
    await this.mutate(account, async () => {
      const ckey = keys.container(account, container);
      const cont = await this.writer.read<ContainerRecord>(ckey);
      if (!cont) throw errors.containerNotFound(container);
      const acct = (await this.writer.read<AccountRecord>(keys.account(account))) ?? newAccount(account, cont.createdAt);
      const ops: BatchOp[] = [];
      let dCount = 0;
      let dBytes = 0;
      /** Blob ids this commit stops referencing → whether they are inline. */
      const released = new Map<string, boolean>();
      const referenced = new Set<string>();
      // Names touched earlier in this same commit, so a rename chain sees its own steps.
      const local = new Map<string, ObjectRecord | null>();
      const current = async (name: string) =>
        local.has(name) ? (local.get(name) ?? undefined) : await this.writer.read<ObjectRecord>(keys.object(account, container, name));

      for (const change of changes) {
        const name = change.op === 'put' ? change.record.name : change.name;
        const prev = await current(name);
        if (change.ifTimestamp !== undefined) {
          const want = change.ifTimestamp;
          if ((want === null && prev) || (want !== null && prev?.timestamp !== want))
            throw errors.conflict(`object ${name} changed during the operation`);
        }
        if (prev && !result.previous.has(name)) result.previous.set(name, prev);
        if (prev) {
          dCount -= 1;
          dBytes -= prev.size;
          released.set(prev.blobId, prev.inline === true);
          if (prev.deleteAt !== undefined) ops.push({ type: 'del', key: keys.expiry(prev.deleteAt, account, container, name) });
        }
        if (change.op === 'put') {
          const rec = change.record;
          if (rec.account !== account || rec.container !== container) throw errors.invalidArgument('record outside the commit container');
          ops.push({ type: 'put', key: keys.object(account, container, name), value: rec });
          if (rec.deleteAt !== undefined) ops.push({ type: 'put', key: keys.expiry(rec.deleteAt, account, container, name), value: '' });
          dCount += 1;
          dBytes += rec.size;
          referenced.add(rec.blobId);
          if (change.inline) {
            if (!rec.inline || change.inline.length !== rec.size) throw errors.invalidArgument('inline bytes do not match the record');
            ops.push({ type: 'put', key: keys.inline(rec.blobId), value: change.inline, valueEncoding: 'buffer' });
          } else if (!rec.inline) {
            ops.push({ type: 'del', key: keys.pending(rec.blobId) });
          }
          local.set(name, rec);
        } else {
          if (prev) ops.push({ type: 'del', key: keys.object(account, container, name) });
          local.set(name, null);
        }
      }
      for (const [blobId, inline] of released) {
        if (referenced.has(blobId)) continue; // a rename: the new name holds the same bytes
        if (inline) {
          // Inline bytes go in the same commit that drops their last reference.
          ops.push({ type: 'del', key: keys.inline(blobId) });
          continue;
        }
        result.garbage.push(blobId);
        ops.push({ type: 'put', key: keys.garbage(blobId), value: '' });
      }
      if (dCount !== 0 || dBytes !== 0) {
        ops.push({ type: 'put', key: ckey, value: { ...cont, objectCount: cont.objectCount + dCount, bytesUsed: cont.bytesUsed + dBytes } });
        ops.push({
          type: 'put',
          key: keys.account(account),
          value: { ...acct, objectCount: acct.objectCount + dCount, bytesUsed: acct.bytesUsed + dBytes },
        });
      }
      return ops;
    }, opts.durable !== false);
    return result;
  }

  async updateObjectMeta(
    account: string,
    container: string,
    name: string,
    update: { meta?: MetadataPatch; headers?: Record<string, string | null>; contentType?: string; deleteAt?: number | null },
    timestamp: string,
  ): Promise<ObjectRecord> {
    let result!: ObjectRecord;
    await this.mutate(account, async () => {
      const key = keys.object(account, container, name);
      const prev = await this.writer.read<ObjectRecord>(key);
      if (!prev) throw errors.objectNotFound(name);
      const headers = { ...prev.headers };
      for (const [k, v] of Object.entries(update.headers ?? {})) {
        if (v === null) delete headers[k];
        else headers[k] = v;
      }
      result = {
        ...prev,
        meta: applyPatch(prev.meta, update.meta),
        headers,
        contentType: update.contentType ?? prev.contentType,
        metaTimestamp: timestamp,
      };
      const ops: BatchOp[] = [];
      if (update.deleteAt !== undefined) {
        if (prev.deleteAt !== undefined) ops.push({ type: 'del', key: keys.expiry(prev.deleteAt, account, container, name) });
        if (update.deleteAt === null) delete result.deleteAt;
        else {
          result.deleteAt = update.deleteAt;
          ops.push({ type: 'put', key: keys.expiry(update.deleteAt, account, container, name), value: '' });
        }
      }
      ops.push({ type: 'put', key, value: result });
      return ops;
    });
    return result;
  }

  async listObjects(account: string, container: string, query: ListQuery): Promise<ObjectListing> {
    const base = keys.objectPrefix(account, container);
    return scanListing<ObjectRecord, ObjectListEntry>(
      query,
      (range) => this.cursor<ObjectRecord>(base, range),
      (name, o) => ({ kind: 'object', name, size: o.size, etag: o.etag, contentType: o.contentType, lastModified: o.metaTimestamp }),
    );
  }

  async getInlineBlob(blobId: string): Promise<Buffer | undefined> {
    return (this.db.getSync(keys.inline(blobId), { valueEncoding: 'buffer' })) as Buffer | undefined;
  }

  async listExpiredObjects(nowSeconds: number, limit: number) {
    const out: Array<{ account: string; container: string; name: string; deleteAt: number }> = [];
    for await (const key of this.db.keys({ gte: keys.expiryPrefix(), lte: keys.expiryUpTo(nowSeconds), limit })) {
      const [, at, account, container, ...rest] = keys.split(key);
      out.push({ account: account ?? '', container: container ?? '', name: rest.join('\u0000'), deleteAt: Number(at) });
    }
    return out;
  }

  // ------------------------------------------------------- blob bookkeeping

  async addPendingBlob(blobId: string): Promise<void> {
    // Not synced on its own: the commit that follows is, and a crash before it leaves a
    // blob that the fsck walk collects even if this mark was lost with the page cache.
    await this.db.put(keys.pending(blobId), Date.now());
  }

  async removePendingBlob(blobId: string): Promise<void> {
    await this.db.del(keys.pending(blobId));
  }

  async listPendingBlobs(beforeMs: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    for await (const [key, at] of this.db.iterator({ gt: keys.pendingPrefix(), lt: keys.end(keys.pendingPrefix()) })) {
      if ((at as number) < beforeMs) out.push(key.slice(keys.pendingPrefix().length));
      if (out.length >= limit) break;
    }
    return out;
  }

  async listGarbageBlobs(limit: number): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this.db.keys({ gt: keys.garbagePrefix(), lt: keys.end(keys.garbagePrefix()), limit }))
      out.push(key.slice(keys.garbagePrefix().length));
    return out;
  }

  async clearGarbageBlob(blobId: string): Promise<void> {
    await this.db.del(keys.garbage(blobId));
  }

  // ------------------------------------------------------------------ identity

  async getUser(account: string, user: string): Promise<UserRecord | undefined> {
    return (this.db.getSync(keys.user(account, user))) as UserRecord | undefined;
  }

  async putUser(record: UserRecord): Promise<void> {
    await this.db.put(keys.user(record.account, record.user), record, { sync: true });
  }

  async deleteUser(account: string, user: string): Promise<boolean> {
    const existed = (this.db.getSync(keys.user(account, user))) !== undefined;
    await this.db.del(keys.user(account, user), { sync: true });
    return existed;
  }

  async listUsers(): Promise<UserRecord[]> {
    const out: UserRecord[] = [];
    for await (const v of this.db.values({ gt: keys.userPrefix(), lt: keys.end(keys.userPrefix()) })) out.push(v as UserRecord);
    return out;
  }

  async putToken(record: TokenRecord): Promise<void> {
    await this.db.put(keys.token(record.tokenHash), record);
  }

  async getToken(tokenHash: string): Promise<TokenRecord | undefined> {
    return (this.db.getSync(keys.token(tokenHash))) as TokenRecord | undefined;
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.db.del(keys.token(tokenHash));
  }

  async deleteUserTokens(account: string, user: string): Promise<number> {
    const doomed: string[] = [];
    for await (const [key, v] of this.db.iterator({ gt: keys.tokenPrefix(), lt: keys.end(keys.tokenPrefix()) })) {
      const t = v as TokenRecord;
      if (t.account === account && t.user === user) doomed.push(key);
    }
    if (doomed.length) await this.db.batch(doomed.map((key) => ({ type: 'del' as const, key })), { sync: true });
    return doomed.length;
  }

  async purgeExpiredTokens(nowMs: number): Promise<number> {
    const doomed: string[] = [];
    for await (const [key, v] of this.db.iterator({ gt: keys.tokenPrefix(), lt: keys.end(keys.tokenPrefix()) }))
      if ((v as TokenRecord).expiresAt <= nowMs) doomed.push(key);
    if (doomed.length) await this.db.batch(doomed.map((key) => ({ type: 'del' as const, key })));
    return doomed.length;
  }

  async claimDomain(record: DomainRecord): Promise<void> {
    await this.identityLocks.run(`domain:${record.domain}`, async () => {
      const existing = (this.db.getSync(keys.domain(record.domain))) as DomainRecord | undefined;
      if (existing && existing.account !== record.account)
        throw errors.conflict(`domain ${record.domain} belongs to another account`);
      await this.db.put(keys.domain(record.domain), record, { sync: true });
    });
  }

  async getDomain(domain: string): Promise<DomainRecord | undefined> {
    return (this.db.getSync(keys.domain(domain))) as DomainRecord | undefined;
  }

  async listDomains(account?: string): Promise<DomainRecord[]> {
    const out: DomainRecord[] = [];
    for await (const v of this.db.values({ gt: keys.domainPrefix(), lt: keys.end(keys.domainPrefix()) })) {
      const d = v as DomainRecord;
      if (account === undefined || d.account === account) out.push(d);
    }
    return out;
  }

  async removeDomain(domain: string): Promise<boolean> {
    const existed = (this.db.getSync(keys.domain(domain))) !== undefined;
    await this.db.del(keys.domain(domain), { sync: true });
    return existed;
  }

  // ---------------------------------------------------------------- maintenance

  async *scanAccounts(): AsyncIterable<AccountRecord> {
    for await (const v of this.db.values({ gt: keys.accountRangeStart(), lt: keys.accountRangeEnd() })) yield v as AccountRecord;
  }

  async *scanContainers(account: string): AsyncIterable<ContainerRecord> {
    const p = keys.containerPrefix(account);
    for await (const v of this.db.values({ gte: p, lt: keys.end(p) })) yield v as ContainerRecord;
  }

  async *scanObjects(account: string, container: string): AsyncIterable<ObjectRecord> {
    const p = keys.objectPrefix(account, container);
    for await (const v of this.db.values({ gte: p, lt: keys.end(p) })) yield v as ObjectRecord;
  }

  async setContainerStats(account: string, container: string, stats: { objectCount: number; bytesUsed: number }): Promise<void> {
    await this.mutate(account, async () => {
      const c = await this.writer.read<ContainerRecord>(keys.container(account, container));
      if (!c) throw errors.containerNotFound(container);
      return [{ type: 'put', key: keys.container(account, container), value: { ...c, ...stats } }];
    });
  }

  async setAccountStats(account: string, stats: { containerCount: number; objectCount: number; bytesUsed: number }): Promise<void> {
    await this.mutate(account, async () => {
      const a = await this.writer.read<AccountRecord>(keys.account(account));
      if (!a) throw errors.accountNotFound(account);
      return [{ type: 'put', key: keys.account(account), value: { ...a, ...stats } }];
    });
  }

  // ------------------------------------------------------------------ helpers

  /** Computes a mutation under the account's lock, then waits for it to be written (and durable, unless deferred). */
  private async mutate(account: string, compute: () => Promise<BatchOp[]>, durable = true): Promise<void> {
    // Boxed: an async callback returning the bare promise would adopt it, so the lock
    // would be held until the batch is durable and one account's commits never shared one.
    const { written } = await this.accountLocks.run(account, async () => ({ written: this.writer.enqueue(await compute(), durable) }));
    await written;
  }

  sync(): Promise<void> {
    return this.writer.sync();
  }

  private cursor<T>(base: string, range: ScanRange): OrderedCursor<T> {
    const bounds: { gt?: string; gte?: string; lt: string; reverse: boolean } = {
      lt: range.upper !== undefined ? base + range.upper : keys.end(base),
      reverse: range.reverse,
    };
    if (range.lower === undefined) bounds.gte = base;
    else if (range.lowerInclusive) bounds.gte = base + range.lower;
    else bounds.gt = base + range.lower;
    const it = this.db.iterator(bounds);
    const strip = base.length;
    let buffer: Array<[string, unknown]> = [];
    let pos = 0;
    let ended = false;
    let closed = false;
    // Entries decoded per hop: small at first and right after a seek (a delimiter listing
    // uses one entry per pseudo-directory before seeking again), growing over long runs.
    let readSize = 8;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await it.close();
    };
    return {
      next: async () => {
        if (pos >= buffer.length) {
          if (ended) return undefined;
          buffer = (await it.nextv(readSize)) as Array<[string, unknown]>;
          readSize = Math.min(readSize * 4, 1024);
          pos = 0;
          if (buffer.length === 0) {
            ended = true;
            await close();
            return undefined;
          }
        }
        const [key, value] = buffer[pos++] as [string, unknown];
        return { name: key.slice(strip), value: value as T };
      },
      seek: (name: string) => {
        buffer = [];
        pos = 0;
        ended = false;
        readSize = 2;
        it.seek(base + name);
      },
      // Listings mostly stop at their limit, long before the range ends: without this,
      // every such listing left an iterator (and its snapshot) attached to the db.
      close,
    };
  }
}


