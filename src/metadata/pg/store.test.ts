import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ErrorCodes } from '../../core/errors.ts';
import type { ListQuery, ObjectRecord } from '../../core/types.ts';
import { type PgServer, startPgServer } from '../../../test/scale/pg-server.ts';
import { migrations } from './migrations.ts';
import { PostgresMetadataStore } from './store.ts';

let server: PgServer;
let store: PostgresMetadataStore;
let schemaSeq = 0;

/** Each test group works in its own schema, so groups cannot see each other's rows. */
async function openStore(schema = `t${++schemaSeq}`, extra: Partial<Parameters<typeof PostgresMetadataStore.open>[0]> = {}) {
  return PostgresMetadataStore.open({ connectionString: server.connectionString, schema, ...extra });
}

beforeAll(async () => {
  server = await startPgServer();
  store = await openStore('main');
});

afterAll(async () => {
  await store?.close();
  await server?.stop();
});

let tsSeq = 1_700_000_000_00000;
const ts = (): string => ((tsSeq += 7) / 100_000).toFixed(5).padStart(16, '0');

function obj(container: string, name: string, size: number, blobId: string, extra: Partial<ObjectRecord> = {}, account = 'AUTH_a'): ObjectRecord {
  const t = ts();
  return {
    account,
    container,
    name,
    size,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    timestamp: t,
    metaTimestamp: t,
    blobId,
    meta: {},
    headers: {},
    ...extra,
  };
}

/** A store on a fresh schema, closed at the end of the scope. */
async function scratchStore(): Promise<PostgresMetadataStore & AsyncDisposable> {
  const s = await openStore();
  return Object.assign(s, { [Symbol.asyncDispose]: () => s.close() });
}

describe('migrations', () => {
  it('apply once when many gateways start together, with and without the advisory lock', async () => {
    for (const advisoryLock of [true, false]) {
      const schema = `race_${advisoryLock}`;
      const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(schema, { advisoryLock })));
      const r = await stores[0]!.pool.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(r.rows.map((x: { version: number }) => x.version)).toEqual(migrations.map((m) => m.version));
      expect(await stores[0]!.schemaVersion()).toBe(migrations[migrations.length - 1]!.version);
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('serve listings from the primary key as ordered range scans', async () => {
    await store.createContainer('AUTH_plan', 'c', ts());
    const r = await store.pool.query(
      `EXPLAIN SELECT name FROM "main".objects WHERE account = $1 AND container = $2 AND name > $3 ORDER BY name LIMIT 10`,
      ['AUTH_plan', 'c', 'x'],
    );
    const plan = r.rows.map((x: Record<string, string>) => Object.values(x)[0]).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using objects_pkey/);
    expect(plan).not.toMatch(/Sort/);
  });
});

describe('accounts', () => {
  it('creates, patches, refuses to delete while non-empty, deletes', async () => {
    const s = store;
    const a = await s.createAccount('AUTH_acc', ts(), { meta: { set: { color: 'red' } } });
    expect(a.created).toBe(true);
    expect(a.record).toMatchObject({ name: 'AUTH_acc', meta: { color: 'red' }, containerCount: 0, objectCount: 0, bytesUsed: 0 });
    const again = await s.createAccount('AUTH_acc', ts(), { meta: { set: { size: 'xl', color: '' } } });
    expect(again.created).toBe(false);
    expect(again.record.meta).toEqual({ size: 'xl' });
    expect(again.record.createdAt).toBe(a.record.createdAt);
    const upd = await s.updateAccount('AUTH_acc', { sysmeta: { set: { 'quota-bytes': '10' } }, meta: { remove: ['size'] } }, ts());
    expect(upd).toMatchObject({ meta: {}, sysmeta: { 'quota-bytes': '10' } });
    expect(await s.getAccount('AUTH_acc')).toEqual(upd);

    // updateAccount creates a missing account, as the LevelDB store does.
    const fresh = await s.updateAccount('AUTH_new', { meta: { set: { x: '1' } } }, ts());
    expect(fresh).toMatchObject({ name: 'AUTH_new', meta: { x: '1' }, containerCount: 0 });

    await s.createContainer('AUTH_acc', 'c1', ts());
    expect((await s.getAccount('AUTH_acc'))?.containerCount).toBe(1);
    await expect(s.deleteAccount('AUTH_acc')).rejects.toMatchObject({ code: ErrorCodes.ACCOUNT_NOT_EMPTY });
    await s.deleteContainer('AUTH_acc', 'c1');
    await s.deleteAccount('AUTH_acc');
    expect(await s.getAccount('AUTH_acc')).toBeUndefined();
    await expect(s.deleteAccount('AUTH_acc')).rejects.toMatchObject({ code: ErrorCodes.ACCOUNT_NOT_FOUND });
  });
});

describe('containers', () => {
  it('creates (with the account), updates settings, refuses to delete while non-empty', async () => {
    const s = store;
    const t1 = ts();
    const c = await s.createContainer('AUTH_c', 'box', t1, { meta: { a: '1', b: '' }, readAcl: '.r:*', policy: 'gold' });
    expect(c.created).toBe(true);
    expect(c.record).toEqual({
      account: 'AUTH_c',
      name: 'box',
      createdAt: t1,
      putTimestamp: t1,
      meta: { a: '1' },
      sysmeta: {},
      readAcl: '.r:*',
      writeAcl: '',
      policy: 'gold',
      objectCount: 0,
      bytesUsed: 0,
    });
    expect(await s.getAccount('AUTH_c')).toMatchObject({ createdAt: t1, containerCount: 1 });

    const t2 = ts();
    const again = await s.createContainer('AUTH_c', 'box', t2, { meta: { a: '', c: '3' }, sysmeta: { v: 'x' }, writeAcl: 'u' });
    expect(again.created).toBe(false);
    expect(again.record).toMatchObject({ createdAt: t1, putTimestamp: t2, meta: { c: '3' }, sysmeta: { v: 'x' }, readAcl: '.r:*', writeAcl: 'u', policy: 'gold' });
    expect((await s.getAccount('AUTH_c'))?.containerCount).toBe(1);

    // A POST moves put_timestamp forward, as Swift's container server does (it is Last-Modified).
    const t3 = ts();
    const upd = await s.updateContainer('AUTH_c', 'box', { meta: { set: { d: '4' } }, readAcl: '' }, t3);
    expect(upd).toMatchObject({ createdAt: t1, putTimestamp: t3, meta: { c: '3', d: '4' }, readAcl: '' });
    expect(await s.getContainer('AUTH_c', 'box')).toEqual(upd);
    await expect(s.updateContainer('AUTH_c', 'nope', {}, ts())).rejects.toMatchObject({ code: ErrorCodes.CONTAINER_NOT_FOUND });

    await s.commitObjects('AUTH_c', 'box', [{ op: 'put', record: obj('box', 'o', 5, 'b1', {}, 'AUTH_c') }]);
    await expect(s.deleteContainer('AUTH_c', 'box')).rejects.toMatchObject({ code: ErrorCodes.CONTAINER_NOT_EMPTY });
    await s.commitObjects('AUTH_c', 'box', [{ op: 'delete', name: 'o' }]);
    await s.deleteContainer('AUTH_c', 'box');
    expect(await s.getContainer('AUTH_c', 'box')).toBeUndefined();
    expect((await s.getAccount('AUTH_c'))?.containerCount).toBe(0);
    await expect(s.deleteContainer('AUTH_c', 'box')).rejects.toMatchObject({ code: ErrorCodes.CONTAINER_NOT_FOUND });
  });
});

describe('objects', () => {
  it('commits puts, overwrites and deletes with counts, previous versions and blob bookkeeping', async () => {
    await using s = await scratchStore();
    await s.createContainer('AUTH_o', 'c', ts());
    await expect(s.commitObjects('AUTH_o', 'missing', [{ op: 'delete', name: 'x' }])).rejects.toMatchObject({
      code: ErrorCodes.CONTAINER_NOT_FOUND,
    });
    for (const id of ['p1', 'p2', 'p3']) await s.addPendingBlob(id);
    expect((await s.listPendingBlobs(Date.now() + 1, 10)).sort()).toEqual(['p1', 'p2', 'p3']);

    const a = obj('c', 'a', 10, 'p1', { meta: { k: 'v' }, headers: { 'content-disposition': 'inline' } }, 'AUTH_o');
    const r1 = await s.commitObjects('AUTH_o', 'c', [
      { op: 'put', record: a },
      { op: 'put', record: obj('c', 'b', 20, 'p2', {}, 'AUTH_o') },
    ]);
    expect(r1).toEqual({ previous: new Map(), garbage: [] });
    expect(await s.getObject('AUTH_o', 'c', 'a')).toEqual(a);
    expect(await s.getContainer('AUTH_o', 'c')).toMatchObject({ objectCount: 2, bytesUsed: 30 });
    expect(await s.getAccount('AUTH_o')).toMatchObject({ objectCount: 2, bytesUsed: 30 });
    expect(await s.listPendingBlobs(Date.now() + 1, 10)).toEqual(['p3']);

    // Overwrite a, delete b, in one commit.
    const a2 = obj('c', 'a', 7, 'p3', {}, 'AUTH_o');
    const r2 = await s.commitObjects('AUTH_o', 'c', [
      { op: 'put', record: a2 },
      { op: 'delete', name: 'b' },
      { op: 'delete', name: 'never-existed' },
    ]);
    expect([...r2.previous.keys()].sort()).toEqual(['a', 'b']);
    expect(r2.previous.get('a')).toEqual(a);
    expect(r2.garbage).toEqual(['p1', 'p2']);
    expect((await s.listGarbageBlobs(10)).sort()).toEqual(['p1', 'p2']);
    expect(await s.listPendingBlobs(Date.now() + 1, 10)).toEqual([]);
    expect(await s.getContainer('AUTH_o', 'c')).toMatchObject({ objectCount: 1, bytesUsed: 7 });
    expect(await s.getAccount('AUTH_o')).toMatchObject({ objectCount: 1, bytesUsed: 7 });
    await s.clearGarbageBlob('p1');
    expect(await s.listGarbageBlobs(10)).toEqual(['p2']);

    // A rename: the chain sees its own steps, the shared blob is not garbage.
    const moved = { ...a2, name: 'renamed' };
    const r3 = await s.commitObjects('AUTH_o', 'c', [
      { op: 'put', record: moved, ifTimestamp: null },
      { op: 'delete', name: 'a', ifTimestamp: a2.timestamp },
    ]);
    expect(r3.garbage).toEqual([]);
    expect(await s.getObject('AUTH_o', 'c', 'a')).toBeUndefined();
    expect(await s.getObject('AUTH_o', 'c', 'renamed')).toEqual(moved);
    expect(await s.getContainer('AUTH_o', 'c')).toMatchObject({ objectCount: 1, bytesUsed: 7 });

    await s.removePendingBlob('nothing');
    await expect(
      s.commitObjects('AUTH_o', 'c', [{ op: 'put', record: obj('other', 'x', 1, 'z', {}, 'AUTH_o') }]),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('fails the whole commit on an ifTimestamp conflict', async () => {
    const s = store;
    await s.createContainer('AUTH_if', 'c', ts());
    const x = obj('c', 'x', 1, 'bx', {}, 'AUTH_if');
    await s.commitObjects('AUTH_if', 'c', [{ op: 'put', record: x, ifTimestamp: null }]);
    // Must not exist, but does.
    await expect(
      s.commitObjects('AUTH_if', 'c', [
        { op: 'put', record: obj('c', 'y', 2, 'by', {}, 'AUTH_if') },
        { op: 'put', record: obj('c', 'x', 3, 'bx2', {}, 'AUTH_if'), ifTimestamp: null },
      ]),
    ).rejects.toMatchObject({ code: ErrorCodes.CONFLICT });
    // Stale timestamp.
    await expect(s.commitObjects('AUTH_if', 'c', [{ op: 'delete', name: 'x', ifTimestamp: '0000000001.00000' }])).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
    });
    // Expected to exist, but does not.
    await expect(s.commitObjects('AUTH_if', 'c', [{ op: 'delete', name: 'ghost', ifTimestamp: x.timestamp }])).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
    });
    expect(await s.getObject('AUTH_if', 'c', 'y')).toBeUndefined();
    expect(await s.getObject('AUTH_if', 'c', 'x')).toEqual(x);
    expect(await s.getContainer('AUTH_if', 'c')).toMatchObject({ objectCount: 1, bytesUsed: 1 });
    const ok = await s.commitObjects('AUTH_if', 'c', [{ op: 'delete', name: 'x', ifTimestamp: x.timestamp }]);
    expect(ok.garbage).toEqual(['bx']);
  });

  it('updates object metadata and keeps the expiry index', async () => {
    const s = store;
    await s.createContainer('AUTH_exp', 'c', ts());
    await s.commitObjects('AUTH_exp', 'c', [
      { op: 'put', record: obj('c', 'e1', 1, 'e1', { deleteAt: 100 }, 'AUTH_exp') },
      { op: 'put', record: obj('c', 'e2', 1, 'e2', { deleteAt: 50, meta: { a: '1', b: '2' }, headers: { 'cache-control': 'x' } }, 'AUTH_exp') },
      { op: 'put', record: obj('c', 'e3', 1, 'e3', { deleteAt: 5000 }, 'AUTH_exp') },
    ]);
    expect(await s.listExpiredObjects(100, 10)).toEqual([
      { account: 'AUTH_exp', container: 'c', name: 'e2', deleteAt: 50 },
      { account: 'AUTH_exp', container: 'c', name: 'e1', deleteAt: 100 },
    ]);
    expect(await s.listExpiredObjects(100, 1)).toHaveLength(1);
    const t = ts();
    const u = await s.updateObjectMeta(
      'AUTH_exp',
      'c',
      'e2',
      { meta: { set: { c: '3' }, remove: ['a'] }, headers: { 'cache-control': null, 'content-encoding': 'gzip' }, contentType: 'text/plain', deleteAt: null },
      t,
    );
    expect(u).toMatchObject({ meta: { b: '2', c: '3' }, headers: { 'content-encoding': 'gzip' }, contentType: 'text/plain', metaTimestamp: t });
    expect(u.deleteAt).toBeUndefined();
    expect(await s.getObject('AUTH_exp', 'c', 'e2')).toEqual(u);
    await s.updateObjectMeta('AUTH_exp', 'c', 'e3', { deleteAt: 10 }, ts());
    expect((await s.listExpiredObjects(100, 10)).map((e) => e.name)).toEqual(['e3', 'e1']);
    // Overwriting drops the old expiry; deleting drops it too.
    await s.commitObjects('AUTH_exp', 'c', [{ op: 'put', record: obj('c', 'e3', 1, 'e3b', {}, 'AUTH_exp') }, { op: 'delete', name: 'e1' }]);
    expect(await s.listExpiredObjects(1e10, 10)).toEqual([]);
    await expect(s.updateObjectMeta('AUTH_exp', 'c', 'nope', {}, ts())).rejects.toMatchObject({ code: ErrorCodes.OBJECT_NOT_FOUND });
  });

  it('refuses values PostgreSQL cannot store as INVALID_ARGUMENT, not as a crash', async () => {
    await store.createContainer('AUTH_nul', 'c', ts());
    await expect(
      store.commitObjects('AUTH_nul', 'c', [{ op: 'put', record: obj('c', 'n', 1, 'n1', { meta: { bad: 'a\u0000b' } }, 'AUTH_nul') }]),
    ).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(await store.getContainer('AUTH_nul', 'c')).toMatchObject({ objectCount: 0 });
  });
});

describe('listing bounds with NUL', () => {
  it('treats "name\\0" markers as Swift does (inclusive bounds), though PostgreSQL text cannot hold NUL', async () => {
    await using s = await scratchStore();
    await s.createContainer('AUTH_m', 'c', ts());
    await s.commitObjects('AUTH_m', 'c', ['a', 'b', 'b1', 'c'].map((n, i) => ({ op: 'put' as const, record: obj('c', n, 1, `m${i}`, {}, 'AUTH_m') })));
    const names = async (q: Partial<ListQuery>) => (await s.listObjects('AUTH_m', 'c', { limit: 100, ...q })).map((e) => e.name);
    expect(await names({ marker: 'b\0' })).toEqual(['b1', 'c']);
    expect(await names({ endMarker: 'b\0' })).toEqual(['a', 'b']);
    expect(await names({ reverse: true, marker: 'b\0' })).toEqual(['b', 'a']);
    expect(await names({ reverse: true, marker: 'c\0', endMarker: 'a\0' })).toEqual(['c', 'b1', 'b']);
    expect((await s.listContainers('AUTH_m', { limit: 10, marker: 'c\0' })).map((e) => e.name)).toEqual([]);
    expect((await s.listContainers('AUTH_m', { limit: 10, endMarker: 'c\0' })).map((e) => e.name)).toEqual(['c']);
  });
});

describe('identity', () => {
  it('stores users and tokens', async () => {
    const s = store;
    const u = { account: 'test', user: 'tester', keyHash: 'scrypt$x', groups: ['.admin'], createdAt: ts() };
    await s.putUser(u);
    await s.putUser({ ...u, user: 'alice', groups: [] });
    expect(await s.getUser('test', 'tester')).toEqual(u);
    expect((await s.listUsers()).map((x) => x.user)).toEqual(['alice', 'tester']);
    await s.putUser({ ...u, keyHash: 'scrypt$y' });
    expect((await s.getUser('test', 'tester'))?.keyHash).toBe('scrypt$y');
    expect(await s.deleteUser('test', 'alice')).toBe(true);
    expect(await s.deleteUser('test', 'alice')).toBe(false);

    const now = Date.now();
    await s.putToken({ tokenHash: 'h1', account: 'test', user: 'tester', groups: ['.admin'], expiresAt: now + 60_000 });
    await s.putToken({ tokenHash: 'h2', account: 'test', user: 'tester', groups: [], expiresAt: now - 1 });
    await s.putToken({ tokenHash: 'h3', account: 'test', user: 'bob', groups: [], expiresAt: now + 60_000 });
    expect(await s.getToken('h1')).toEqual({ tokenHash: 'h1', account: 'test', user: 'tester', groups: ['.admin'], expiresAt: now + 60_000 });
    expect(await s.purgeExpiredTokens(now)).toBe(1);
    expect(await s.deleteUserTokens('test', 'tester')).toBe(1);
    expect(await s.getToken('h1')).toBeUndefined();
    expect(await s.getToken('h3')).toBeDefined();
    await s.deleteToken('h3');
    expect(await s.getToken('h3')).toBeUndefined();
  });

  it('lets one account claim a domain and refuses others, also under a race of two gateways', async () => {
    const s = store;
    const rec = { domain: 'www.example.com', account: 'AUTH_x', container: 'site', createdAt: ts() };
    await s.claimDomain(rec);
    await s.claimDomain({ ...rec, container: 'site2' }); // same account may move it
    expect(await s.getDomain('www.example.com')).toMatchObject({ account: 'AUTH_x', container: 'site2' });
    await expect(s.claimDomain({ ...rec, account: 'AUTH_y' })).rejects.toMatchObject({ code: ErrorCodes.CONFLICT });
    expect(await s.getDomain('www.example.com')).toMatchObject({ account: 'AUTH_x' });
    await s.claimDomain({ domain: 'b.example.com', account: 'AUTH_y', container: 'c', createdAt: ts() });
    expect((await s.listDomains()).map((d) => d.domain)).toEqual(['b.example.com', 'www.example.com']);
    expect((await s.listDomains('AUTH_y')).map((d) => d.domain)).toEqual(['b.example.com']);
    expect(await s.removeDomain('b.example.com')).toBe(true);
    expect(await s.removeDomain('b.example.com')).toBe(false);

    const other = await openStore('main');
    try {
      const claims = Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? s : other).claimDomain({ domain: 'race.example.com', account: `AUTH_r${i}`, container: 'c', createdAt: ts() }),
      );
      const results = await Promise.allSettled(claims);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCodes.CONFLICT });
    } finally {
      await other.close();
    }
  });
});

describe('maintenance', () => {
  it('scans across pages and overwrites stats', async () => {
    const s = await openStore();
    try {
      await s.createContainer('AUTH_m', 'c', ts());
      const n = 1234;
      const changes = Array.from({ length: n }, (_, i) => ({ op: 'put' as const, record: obj('c', `o${String(i).padStart(5, '0')}`, 1, `b${i}`, {}, 'AUTH_m') }));
      await s.commitObjects('AUTH_m', 'c', changes);
      const names: string[] = [];
      for await (const o of s.scanObjects('AUTH_m', 'c')) names.push(o.name);
      expect(names).toEqual(changes.map((c) => c.record.name));
      for (let i = 0; i < 3; i++) await s.createContainer('AUTH_m', `d${i}`, ts());
      const containers: string[] = [];
      for await (const c of s.scanContainers('AUTH_m')) containers.push(c.name);
      expect(containers).toEqual(['c', 'd0', 'd1', 'd2']);
      const accounts: string[] = [];
      for await (const a of s.scanAccounts()) accounts.push(a.name);
      expect(accounts).toEqual(['AUTH_m']);
      expect(await s.getAccount('AUTH_m')).toMatchObject({ containerCount: 4, objectCount: n, bytesUsed: n });
      await s.setContainerStats('AUTH_m', 'c', { objectCount: 1, bytesUsed: 2 });
      await s.setAccountStats('AUTH_m', { containerCount: 3, objectCount: 4, bytesUsed: 5 });
      expect(await s.getContainer('AUTH_m', 'c')).toMatchObject({ objectCount: 1, bytesUsed: 2 });
      expect(await s.getAccount('AUTH_m')).toMatchObject({ containerCount: 3, objectCount: 4, bytesUsed: 5 });
      await expect(s.setContainerStats('AUTH_m', 'zz', { objectCount: 0, bytesUsed: 0 })).rejects.toMatchObject({
        code: ErrorCodes.CONTAINER_NOT_FOUND,
      });
      await expect(s.setAccountStats('AUTH_zz', { containerCount: 0, objectCount: 0, bytesUsed: 0 })).rejects.toMatchObject({
        code: ErrorCodes.ACCOUNT_NOT_FOUND,
      });
    } finally {
      await s.close();
    }
  });
});

describe('many gateways', () => {
  it('keeps counts exact under 50 concurrent overwrites of one name from two pools', async () => {
    const schema = 'race';
    const [g1, g2] = await Promise.all([openStore(schema), openStore(schema)]);
    try {
      await g1.createContainer('AUTH_race', 'c', ts());
      const records = Array.from({ length: 50 }, (_, i) => obj('c', 'hot', 100 + i, `blob${i}`, {}, 'AUTH_race'));
      for (const r of records) await (Number(r.blobId.slice(4)) % 2 ? g1 : g2).addPendingBlob(r.blobId);
      const results = await Promise.all(records.map((r, i) => (i % 2 ? g1 : g2).commitObjects('AUTH_race', 'c', [{ op: 'put', record: r }])));
      const final = await g1.getObject('AUTH_race', 'c', 'hot');
      expect(final).toBeDefined();
      expect(await g2.getContainer('AUTH_race', 'c')).toMatchObject({ objectCount: 1, bytesUsed: final!.size });
      expect(await g2.getAccount('AUTH_race')).toMatchObject({ objectCount: 1, bytesUsed: final!.size });
      // Every blob but the survivor became garbage exactly once; none is still pending.
      const garbage = results.flatMap((r) => r.garbage);
      expect(garbage).toHaveLength(49);
      expect(new Set(garbage).size).toBe(49);
      expect(garbage).not.toContain(final!.blobId);
      expect((await g1.listGarbageBlobs(100)).sort()).toEqual([...garbage].sort());
      expect(await g1.listPendingBlobs(Date.now() + 1, 100)).toEqual([]);
      // Exactly one commit found nothing there before it.
      expect(results.filter((r) => r.previous.size === 0)).toHaveLength(1);
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });

  it('keeps counts exact under concurrent creates and deletes of many names', async () => {
    const schema = 'race2';
    const [g1, g2] = await Promise.all([openStore(schema), openStore(schema)]);
    try {
      await g1.createContainer('AUTH_r2', 'c', ts());
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < 200; i++) {
        const g = i % 2 ? g1 : g2;
        const name = `n${i % 40}`;
        ops.push(
          i % 3 === 0
            ? g.commitObjects('AUTH_r2', 'c', [{ op: 'delete', name }])
            : g.commitObjects('AUTH_r2', 'c', [{ op: 'put', record: obj('c', name, i, `x${i}`, {}, 'AUTH_r2') }]),
        );
      }
      await Promise.all(ops);
      let count = 0;
      let bytes = 0;
      for await (const o of g1.scanObjects('AUTH_r2', 'c')) {
        count++;
        bytes += o.size;
      }
      expect(await g1.getContainer('AUTH_r2', 'c')).toMatchObject({ objectCount: count, bytesUsed: bytes });
      expect(await g2.getAccount('AUTH_r2')).toMatchObject({ objectCount: count, bytesUsed: bytes });
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });

  it('never deletes a container under a commit in flight, nor leaves objects behind one', async () => {
    const [g1, g2] = await Promise.all([openStore('race4'), openStore('race4')]);
    try {
      for (let round = 0; round < 5; round++) {
        const c = `c${round}`;
        await g1.createContainer('AUTH_r4', c, ts());
        await g1.commitObjects('AUTH_r4', c, [{ op: 'put', record: obj(c, 'seed', 1, `s${round}`, {}, 'AUTH_r4') }]);
        // One gateway empties and refills the container while the other keeps trying to delete it.
        const writes = (async () => {
          for (let i = 0; i < 20; i++) {
            const name = `o${i}`;
            await g1.commitObjects('AUTH_r4', c, [{ op: 'put', record: obj(c, name, 2, `r${round}-${i}`, {}, 'AUTH_r4') }, { op: 'delete', name: i === 0 ? 'seed' : `o${i - 1}` }]).catch((e: unknown) => {
              expect(e).toMatchObject({ code: ErrorCodes.CONTAINER_NOT_FOUND });
            });
            if (i % 5 === 4) await g1.commitObjects('AUTH_r4', c, [{ op: 'delete', name }]).catch(() => {});
          }
        })();
        const deletes = (async () => {
          for (let i = 0; i < 40; i++) {
            const r = await g2.deleteContainer('AUTH_r4', c).then(
              () => 'deleted',
              (e: { code?: string }) => e.code,
            );
            if (r === 'deleted') return;
            expect([ErrorCodes.CONTAINER_NOT_EMPTY, ErrorCodes.CONTAINER_NOT_FOUND]).toContain(r);
          }
        })();
        await Promise.all([writes, deletes]);
        const left: string[] = [];
        for await (const o of g1.scanObjects('AUTH_r4', c)) left.push(o.name);
        const cont = await g1.getContainer('AUTH_r4', c);
        if (cont) expect(cont.objectCount).toBe(left.length);
        else expect(left).toEqual([]);
      }
      let containers = 0;
      for await (const _ of g2.scanContainers('AUTH_r4')) containers++;
      expect((await g2.getAccount('AUTH_r4'))?.containerCount).toBe(containers);
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });

  it('keeps container counts exact while containers are created and the account is deleted concurrently', async () => {
    const [g1, g2] = await Promise.all([openStore('race5'), openStore('race5')]);
    try {
      for (let round = 0; round < 10; round++) {
        await g1.createAccount('AUTH_r5', ts());
        const results = await Promise.allSettled([
          ...Array.from({ length: 4 }, (_, i) => g1.createContainer('AUTH_r5', `r${round}-${i}`, ts())),
          g2.deleteAccount('AUTH_r5'),
        ]);
        const deleted = results[4]!.status === 'fulfilled';
        let containers = 0;
        for await (const _ of g2.scanContainers('AUTH_r5')) containers++;
        const acct = await g2.getAccount('AUTH_r5');
        if (containers > 0) expect(acct?.containerCount).toBe(containers);
        if (deleted && containers === 0) expect(acct).toBeUndefined();
        // Clean up for the next round.
        for await (const c of g2.scanContainers('AUTH_r5')) await g2.deleteContainer('AUTH_r5', c.name);
        await g2.deleteAccount('AUTH_r5').catch(() => {});
      }
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });

  it('lets exactly one of many racing create-if-absent commits win', async () => {
    const [g1, g2] = await Promise.all([openStore('race3'), openStore('race3')]);
    try {
      await g1.createContainer('AUTH_r3', 'c', ts());
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? g1 : g2).commitObjects('AUTH_r3', 'c', [{ op: 'put', record: obj('c', 'once', 1, `o${i}`, {}, 'AUTH_r3'), ifTimestamp: null }]),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCodes.CONFLICT });
      expect(await g1.getContainer('AUTH_r3', 'c')).toMatchObject({ objectCount: 1, bytesUsed: 1 });
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });
});

describe('errors', () => {
  it('reports an unreachable database as BACKEND_UNAVAILABLE without leaking the password', async () => {
    const err = await PostgresMetadataStore.open({
      connectionString: 'postgres://u:secret@127.0.0.1:1/db',
      pool: { connectionTimeoutMillis: 2000 },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
    expect(String((err as Error).message)).not.toContain('secret');
  });

  it('maps a dropped connection mid-use to BACKEND_UNAVAILABLE and recovers with a fresh one', async () => {
    const s = await openStore();
    try {
      await s.createContainer('AUTH_drop', 'c', ts());
      const admin = new pg.Client(server.connectionString);
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'swiftgate' AND pid <> pg_backend_pid()`);
      await admin.end();
      // Idle connections the server killed are replaced transparently or fail once.
      let ok = 0;
      for (let i = 0; i < 12; i++) {
        try {
          await s.getContainer('AUTH_drop', 'c');
          ok++;
        } catch (e) {
          expect(e).toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
        }
      }
      expect(ok).toBeGreaterThan(0);
      expect(await s.getContainer('AUTH_drop', 'c')).toBeDefined();
    } finally {
      await s.close();
    }
  });
});
