/**
 * The namespace service over the real stores: LevelDB metadata in a temp dir and blobs
 * on disk. Every suite runs twice: bare, and with the read cache in front (as
 * `openCore` wires it when the cache is enabled), so a stale cache shows up as a
 * failure here too.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONSTRAINTS } from '../../src/core/constraints.ts';
import { ErrorCodes, isSwiftgateError } from '../../src/core/errors.ts';
import { Namespace } from '../../src/core/namespace.ts';
import type { ChangeEvent } from '../../src/core/change-feed.ts';
import { DIRECTORY_CONTENT_TYPE, type DirectoryEntry, type ObjectRecord } from '../../src/core/types.ts';
import { expectCountsMatchScan, expectNoStrayBlobs, listBlobIds, md5, openWorld, readAll, source, tempFiles, type World } from './fixtures.ts';
import { compareUtf8 } from './listing-model.ts';
import { Rng, testSeed } from './prng.ts';

const A = 'AUTH_test';

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (isSwiftgateError(err) && err.code === code) return;
    throw err;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

async function put(w: World, container: string, name: string, body: Buffer, opts: { chunked?: boolean; contentType?: string; deleteAt?: number } = {}) {
  return w.ns.putObject(A, container, name, source(body), {
    contentType: opts.contentType ?? 'application/octet-stream',
    ...(opts.chunked ? {} : { expectedSize: body.length }),
    ...(opts.deleteAt !== undefined ? { deleteAt: opts.deleteAt } : {}),
  });
}

async function content(w: World, rec: ObjectRecord): Promise<Buffer> {
  return readAll((await w.ns.openObject(rec)).stream);
}

/** Events published since `mark` (an index into the flattened event log). */
function eventsSince(w: World, mark: number): ChangeEvent[] {
  return w.published.flat().slice(mark);
}
const eventMark = (w: World) => w.published.flat().length;

for (const variant of ['bare', 'with read cache'] as const) {
  describe(`Namespace (${variant})`, () => {
    let w: World;

    beforeEach(async () => {
      w = await openWorld({ cache: variant === 'with read cache' });
      await w.ns.createContainer(A, 'c1');
    });

    afterEach(async () => {
      await w.close();
    });

    // -------------------------------------------------------------- counts and bytes

    describe('counts and bytes', () => {
      it('match a full scan after a random mix of puts, overwrites, deletes, renames, copies and directory moves', async () => {
        const seed = testSeed(0xc0ffee);
        const rng = new Rng(seed);
        const B = 'AUTH_other';
        const containers: Array<[string, string]> = [
          [A, 'c1'],
          [A, 'c2'],
          [B, 'c1'],
        ];
        await w.ns.createContainer(A, 'c2');
        await w.ns.createContainer(B, 'c1');
        // What each object should hold: "account/container/name" → bytes.
        const model = new Map<string, Buffer>();
        const key = (a: string, c: string, n: string) => `${a}/${c}/${n}`;
        const dirs = ['d0', 'd1', 'd2', 'd3', 'd4'];
        const randomName = () => (rng.chance(0.6) ? `${rng.pick(dirs)}/f${rng.int(0, 5)}` : `f${rng.int(0, 5)}`);
        const existing = (a: string, c: string) => [...model.keys()].filter((k) => k.startsWith(`${a}/${c}/`)).map((k) => k.slice(a.length + c.length + 2));
        let done = 0;

        for (let step = 0; step < 300; step++) {
          const [acct, cont] = rng.pick(containers);
          const names = existing(acct, cont);
          const op = rng.int(0, 99);
          if (op < 40 || names.length === 0) {
            const name = randomName();
            const body = rng.chance(0.1) ? Buffer.alloc(0) : rng.bytes(rng.int(1, 5000));
            await w.ns.putObject(acct, cont, name, source(body), { contentType: 'text/plain', ...(rng.chance(0.5) ? { expectedSize: body.length } : {}) });
            model.set(key(acct, cont, name), body);
          } else if (op < 55) {
            const name = rng.pick(names);
            await w.ns.deleteObject(acct, cont, name);
            model.delete(key(acct, cont, name));
          } else if (op < 67) {
            const from = rng.pick(names);
            const to = randomName();
            await w.ns.renameObject(acct, cont, from, to);
            const body = model.get(key(acct, cont, from))!;
            model.delete(key(acct, cont, from));
            model.set(key(acct, cont, to), body);
          } else if (op < 79) {
            const from = rng.pick(names);
            const [dAcct, dCont] = rng.pick(containers);
            const to = randomName();
            await w.ns.copyObject({ account: acct, container: cont, name: from }, { account: dAcct, container: dCont, name: to });
            model.set(key(dAcct, dCont, to), model.get(key(acct, cont, from))!);
          } else if (op < 87) {
            const from = rng.pick(dirs);
            const to = rng.pick(dirs);
            const moving = names.filter((n) => n.startsWith(`${from}/`));
            const targetTaken = names.some((n) => n.startsWith(`${to}/`));
            if (moving.length === 0 || targetTaken || from === to) continue;
            expect(await w.ns.renameDirectory(acct, cont, from, to)).toBe(moving.length);
            for (const n of moving) {
              const body = model.get(key(acct, cont, n))!;
              model.delete(key(acct, cont, n));
              model.set(key(acct, cont, to + n.slice(from.length)), body);
            }
          } else if (op < 93) {
            const d = rng.pick(dirs);
            if (names.some((n) => n.startsWith(`${d}/`))) {
              await expectCode(w.ns.makeDirectory(acct, cont, d), ErrorCodes.ALREADY_EXISTS);
              continue;
            }
            await w.ns.makeDirectory(acct, cont, d);
            model.set(key(acct, cont, `${d}/`), Buffer.alloc(0));
          } else if (op < 97) {
            const d = rng.pick(dirs);
            const inside = names.filter((n) => n.startsWith(`${d}/`));
            if (inside.some((n) => n !== `${d}/`)) {
              await expectCode(w.ns.removeDirectory(acct, cont, d), ErrorCodes.DIRECTORY_NOT_EMPTY);
            } else if (inside.length === 0) {
              await expectCode(w.ns.removeDirectory(acct, cont, d), ErrorCodes.NOT_FOUND);
            } else {
              await w.ns.removeDirectory(acct, cont, d);
              model.delete(key(acct, cont, `${d}/`));
            }
          } else {
            await w.ns.updateObjectMeta(acct, cont, rng.pick(names), { meta: { set: { step: String(step) } } });
          }
          done++;

          if (step % 15 === 0 || step === 299) {
            const totals = await expectCountsMatchScan(w.store);
            for (const [a, c] of containers) {
              const want = existing(a, c);
              const bytes = want.reduce((s, n) => s + model.get(key(a, c, n))!.length, 0);
              expect({ step, seed, at: `${a}/${c}`, ...totals.containers.get(`${a}/${c}`) }).toEqual({ step, seed, at: `${a}/${c}`, objectCount: want.length, bytesUsed: bytes });
              // The service's own view (possibly from the cache) agrees with the store.
              const viaNs = await w.ns.getContainer(a, c);
              expect([viaNs?.objectCount, viaNs?.bytesUsed]).toEqual([want.length, bytes]);
            }
            for (const a of [A, B]) {
              const acct = await w.ns.getAccount(a);
              expect([acct?.containerCount, acct?.objectCount, acct?.bytesUsed]).toEqual([
                totals.accounts.get(a)?.containerCount,
                totals.accounts.get(a)?.objectCount,
                totals.accounts.get(a)?.bytesUsed,
              ]);
            }
          }
        }
        expect(done).toBeGreaterThan(200);

        // Every object holds exactly its bytes, and nothing else is stored.
        for (const [k, body] of model) {
          const [a, c, ...rest] = k.split('/');
          const rec = await w.ns.getObject(a!, c!, rest.join('/'));
          expect(rec, k).toBeDefined();
          expect([k, rec!.size, rec!.etag]).toEqual([k, body.length, md5(body)]);
          expect(md5(await content(w, rec!))).toBe(md5(body));
        }
        const listed = await w.ns.listObjects(A, 'c1', { limit: 10_000 });
        expect(listed.map((e) => e.name).sort()).toEqual(existing(A, 'c1').sort());
        await expectNoStrayBlobs(w);
      });

      it('deleting the last object brings container and account back to zero', async () => {
        await put(w, 'c1', 'x', Buffer.from('hello'));
        await put(w, 'c1', 'x', Buffer.from('hello, world'));
        expect((await w.store.getContainer(A, 'c1'))).toMatchObject({ objectCount: 1, bytesUsed: 12 });
        await w.ns.deleteObject(A, 'c1', 'x');
        expect((await w.store.getContainer(A, 'c1'))).toMatchObject({ objectCount: 0, bytesUsed: 0 });
        expect((await w.ns.getAccount(A))).toMatchObject({ containerCount: 1, objectCount: 0, bytesUsed: 0 });
        await w.ns.deleteContainer(A, 'c1');
        expect((await w.ns.getAccount(A))).toMatchObject({ containerCount: 0, objectCount: 0, bytesUsed: 0 });
      });
    });

    // ----------------------------------------------------------- concurrent overwrites

    describe('concurrent overwrites of one name', () => {
      it('leave one record, right counts, a readable blob with matching MD5, and no stray blobs', async () => {
        const rng = new Rng(testSeed(50));
        const bodies = Array.from({ length: 50 }, (_, i) => rng.bytes(1000 + i * 997));
        const results = await Promise.all(bodies.map((b, i) => put(w, 'c1', 'hot', b, { chunked: i % 2 === 1 })));
        const listing = await w.ns.listObjects(A, 'c1', { limit: 100 });
        expect(listing.map((e) => e.name)).toEqual(['hot']);
        const rec = (await w.ns.getObject(A, 'c1', 'hot'))!;
        const winner = bodies.findIndex((b) => md5(b) === rec.etag);
        expect(winner).toBeGreaterThanOrEqual(0);
        expect(rec.size).toBe(bodies[winner]!.length);
        expect(await w.store.getContainer(A, 'c1')).toMatchObject({ objectCount: 1, bytesUsed: rec.size });
        expect(await w.store.getAccount(A)).toMatchObject({ objectCount: 1, bytesUsed: rec.size });
        expect(md5(await content(w, rec))).toBe(rec.etag);
        expect(new Set(results.map((r) => r.blobId)).size).toBe(50);
        await expectNoStrayBlobs(w);
        expect(await listBlobIds(w.blobs)).toEqual([rec.blobId]);
      });

      it('the survivor is the newest acknowledged write (last writer wins by X-Timestamp)', async () => {
        const rng = new Rng(testSeed(51));
        const bodies = Array.from({ length: 50 }, () => rng.bytes(rng.int(0, 3000)));
        // The same real store, with account reads jittered by 0–3 ms (as under load), so
        // any await between taking the timestamp and committing reorders writers.
        const jittered = new Proxy(w.store, {
          get(target, prop) {
            const v = Reflect.get(target, prop, target) as unknown;
            if (prop === 'getAccount')
              return async (account: string) => {
                await new Promise((r) => setTimeout(r, rng.int(0, 3)));
                return target.getAccount(account);
              };
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
        const ns = new Namespace({ store: jittered, blobs: w.blobs, feed: w.feed, constraints: DEFAULT_CONSTRAINTS });
        // Half chunked (no Content-Length): their quota check runs after the upload.
        const results = await Promise.all(
          bodies.map((b, i) => ns.putObject(A, 'c1', 'hot', source(b), { contentType: 't', ...(i % 2 === 1 ? {} : { expectedSize: b.length }) })),
        );
        const newest = results.reduce((a, b) => (a.timestamp > b.timestamp ? a : b));
        const rec = (await w.ns.getObject(A, 'c1', 'hot'))!;
        expect({ timestamp: rec.timestamp, blobId: rec.blobId }).toEqual({ timestamp: newest.timestamp, blobId: newest.blobId });
      });

      it('concurrent deletes of one object: one succeeds, the others are 404s, one event', async () => {
        await put(w, 'c1', 'x', Buffer.from('bye'));
        const mark = eventMark(w);
        const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => w.ns.deleteObject(A, 'c1', 'x')));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(isSwiftgateError(o.reason, ErrorCodes.OBJECT_NOT_FOUND)).toBe(true);
        expect(eventsSince(w, mark)).toEqual([{ kind: 'object', op: 'delete', account: A, container: 'c1', object: 'x' }]);
        expect(await w.store.getContainer(A, 'c1')).toMatchObject({ objectCount: 0, bytesUsed: 0 });
      });
    });

    // ------------------------------------------------------------------ change feed

    describe('change feed', () => {
      const obj = (op: ChangeEvent['op'], object: string, container = 'c1'): ChangeEvent => ({ kind: 'object', op, account: A, container, object });

      it('gets one event per mutation, published before the call returns', async () => {
        let mark = eventMark(w);
        const step = async (fn: () => Promise<unknown>, expected: ChangeEvent[]) => {
          await fn();
          expect(eventsSince(w, mark)).toEqual(expected);
          mark = eventMark(w);
        };
        await step(() => w.ns.createContainer(A, 'c2'), [{ kind: 'container', op: 'put', account: A, container: 'c2' }]);
        await step(() => w.ns.createContainer(A, 'c2', { meta: { color: 'blue' } }), [{ kind: 'container', op: 'update', account: A, container: 'c2' }]);
        await step(() => w.ns.updateContainer(A, 'c2', { meta: { set: { color: 'red' } } }), [{ kind: 'container', op: 'update', account: A, container: 'c2' }]);
        await step(() => w.ns.updateAccount(A, { meta: { set: { owner: 'me' } } }), [{ kind: 'account', op: 'update', account: A }]);
        await step(() => put(w, 'c1', 'a', Buffer.from('1')), [obj('put', 'a')]);
        await step(() => put(w, 'c1', 'a', Buffer.from('22')), [obj('put', 'a')]);
        await step(() => w.ns.updateObjectMeta(A, 'c1', 'a', { meta: { set: { k: 'v' } } }), [obj('update', 'a')]);
        await step(() => w.ns.copyObject({ account: A, container: 'c1', name: 'a' }, { account: A, container: 'c2', name: 'b' }), [obj('put', 'b', 'c2')]);
        await step(() => w.ns.renameObject(A, 'c1', 'a', 'z'), [obj('delete', 'a'), obj('put', 'z')]);
        await step(() => w.ns.makeDirectory(A, 'c1', 'dir'), [obj('put', 'dir/')]);
        await step(() => put(w, 'c1', 'dir/one', Buffer.from('1')), [obj('put', 'dir/one')]);
        await step(() => w.ns.renameDirectory(A, 'c1', 'dir', 'moved'), [obj('delete', 'dir/'), obj('put', 'moved/'), obj('delete', 'dir/one'), obj('put', 'moved/one')]);
        await step(() => w.ns.deleteObject(A, 'c1', 'moved/one'), [obj('delete', 'moved/one')]);
        await step(() => w.ns.removeDirectory(A, 'c1', 'moved'), [obj('delete', 'moved/')]);
        await step(() => w.ns.deleteObject(A, 'c2', 'b'), [obj('delete', 'b', 'c2')]);
        await step(() => w.ns.deleteContainer(A, 'c2'), [{ kind: 'container', op: 'delete', account: A, container: 'c2' }]);
      });

      it('a directory rename publishes all its events in one batch', async () => {
        for (let i = 0; i < 5; i++) await put(w, 'c1', `d/${i}`, Buffer.from(String(i)));
        const batches = w.published.length;
        await w.ns.renameDirectory(A, 'c1', 'd', 'e');
        expect(w.published.length).toBe(batches + 1);
        expect(w.published.at(-1)).toHaveLength(10);
      });

      it('failed operations publish nothing', async () => {
        await put(w, 'c1', 'a', Buffer.from('x'));
        const mark = eventMark(w);
        await expectCode(w.ns.putObject(A, 'c1', 'a', source(Buffer.from('x')), { contentType: 't', expectedEtag: md5(Buffer.from('y')) }), ErrorCodes.ETAG_MISMATCH);
        await w.ns.updateContainer(A, 'c1', { meta: { set: { 'quota-count': '1' } } });
        expect(eventsSince(w, mark)).toEqual([{ kind: 'container', op: 'update', account: A, container: 'c1' }]);
        const mark2 = eventMark(w);
        await expectCode(w.ns.deleteObject(A, 'c1', 'missing'), ErrorCodes.OBJECT_NOT_FOUND);
        await expectCode(put(w, 'c1', 'b', Buffer.from('x')), ErrorCodes.QUOTA_EXCEEDED);
        await expectCode(put(w, 'c1', 'b', Buffer.from('x'), { chunked: true }), ErrorCodes.QUOTA_EXCEEDED);
        await expectCode(w.ns.renameObject(A, 'c1', 'missing', 'b'), ErrorCodes.OBJECT_NOT_FOUND);
        await expectCode(w.ns.removeDirectory(A, 'c1', 'nope'), ErrorCodes.NOT_FOUND);
        await expectCode(put(w, 'nosuch', 'a', Buffer.from('x')), ErrorCodes.CONTAINER_NOT_FOUND);
        expect(eventsSince(w, mark2)).toEqual([]);
        await expectNoStrayBlobs(w);
      });
    });

    // ------------------------------------------------------------------ directories

    describe('directories', () => {
      const marker = (name: string) => put(w, 'c1', name, Buffer.alloc(0), { contentType: DIRECTORY_CONTENT_TYPE });

      async function walk(dir: string, limit: number): Promise<DirectoryEntry[]> {
        const all: DirectoryEntry[] = [];
        let marker: string | undefined;
        for (let pages = 0; pages < 1000; pages++) {
          const page = await w.ns.listDirectory(A, 'c1', dir, { limit, ...(marker ? { marker } : {}) });
          all.push(...page.entries);
          if (!page.nextMarker) return all;
          marker = page.nextMarker;
        }
        throw new Error('listDirectory does not terminate');
      }

      it('merges markers with implicit directories and lists no name twice, on any page size', async () => {
        await w.ns.makeDirectory(A, 'c1', 'd'); // d/
        await put(w, 'c1', 'd/a', Buffer.from('a'));
        await marker('d/w'); // bare marker, nothing inside
        await w.ns.makeDirectory(A, 'c1', 'd/x'); // d/x/ marker…
        await put(w, 'c1', 'd/x/inner', Buffer.from('i')); // …with content
        await put(w, 'c1', 'd/x-1', Buffer.from('x1')); // sorts between d/x and d/x/
        await put(w, 'c1', 'd/x.txt', Buffer.from('xt'));
        await marker('d/y'); // bare marker…
        await put(w, 'c1', 'd/y/inner', Buffer.from('yi')); // …and content under it
        await put(w, 'c1', 'd/y/', Buffer.alloc(0), { contentType: DIRECTORY_CONTENT_TYPE }); // and a slash marker too
        await put(w, 'c1', 'd/z/deep/f', Buffer.from('f')); // implicit only
        await put(w, 'c1', 'd/é', Buffer.from('e'));
        await w.ns.makeDirectory(A, 'c1', 'd/ｱ');
        await put(w, 'c1', 'd/😀', Buffer.from('s'));
        await put(w, 'c1', 'other', Buffer.from('o'));

        const expected = [
          ['a', 'file'],
          ['w', 'directory'],
          ['x', 'directory'],
          ['x-1', 'file'],
          ['x.txt', 'file'],
          ['y', 'directory'],
          ['z', 'directory'],
          ['é', 'file'],
          ['ｱ', 'directory'],
          ['😀', 'file'],
        ];
        for (const limit of [1, 2, 3, 4, 5, 7, 1000]) {
          const entries = await walk('d', limit);
          const got = entries.map((e) => [e.name, e.kind]).sort((p, q) => compareUtf8(p[0]!, q[0]!));
          expect({ limit, got }).toEqual({ limit, got: expected });
        }
        const top = await walk('', 2);
        expect(top.map((e) => [e.name, e.kind])).toEqual([
          ['d', 'directory'],
          ['other', 'file'],
        ]);
        const w0 = (await walk('d', 1000)).find((e) => e.name === 'w');
        expect(w0?.object?.contentType).toBe(DIRECTORY_CONTENT_TYPE);
        expect((await walk('d/x', 1)).map((e) => e.name)).toEqual(['inner']);
      });

      it('random trees: each child exactly once across pages (randomized)', async () => {
        const seed = testSeed(0xd1d1);
        const rng = new Rng(seed);
        for (let iter = 0; iter < 12; iter++) {
          const root = `r${iter}`;
          const names = new Set<string>();
          const segs = ['a', 'b', 'b-c', 'b.c', 'é', '😀', 'x'];
          for (let i = 0; i < rng.int(1, 40); i++) {
            const depth = rng.int(1, 3);
            let n = root;
            for (let d = 0; d < depth; d++) n += '/' + rng.pick(segs);
            if (rng.chance(0.2)) n += '/';
            names.add(n);
          }
          // A plain file may not share its name with a directory: make such names markers.
          const isMarker = (n: string) => n.endsWith('/') || [...names].some((o) => o.startsWith(`${n}/`));
          for (const n of names) {
            if (isMarker(n)) await marker(n);
            else await put(w, 'c1', n, Buffer.from(n));
          }
          const want = new Map<string, string>();
          for (const n of names) {
            const rest = n.slice(root.length + 1);
            if (!rest) continue;
            const slash = rest.indexOf('/');
            if (slash >= 0) want.set(rest.slice(0, slash), 'directory');
            else want.set(rest, isMarker(n) ? 'directory' : 'file');
          }
          const wantList = [...want].sort((p, q) => compareUtf8(p[0], q[0]));
          for (const limit of [1, 2, 3, 10]) {
            const got = (await walk(root, limit)).map((e) => [e.name, e.kind] as [string, string]);
            const names2 = got.map((g) => g[0]);
            expect({ seed, iter, limit, dupes: names2.filter((n, i) => names2.indexOf(n) !== i) }).toEqual({ seed, iter, limit, dupes: [] });
            expect({ seed, iter, limit, got: got.sort((p, q) => compareUtf8(p[0], q[0])) }).toEqual({ seed, iter, limit, got: wantList });
          }
        }
      });

      it('makeDirectory creates a dir/ marker once; a file of that name blocks it', async () => {
        const rec = await w.ns.makeDirectory(A, 'c1', 'photos', { owner: 'me' });
        expect(rec).toMatchObject({ name: 'photos/', size: 0, contentType: DIRECTORY_CONTENT_TYPE, meta: { owner: 'me' } });
        expect(await w.ns.directoryExists(A, 'c1', 'photos')).toBe(true);
        await expectCode(w.ns.makeDirectory(A, 'c1', 'photos'), ErrorCodes.ALREADY_EXISTS);
        await put(w, 'c1', 'notes', Buffer.from('n'));
        await expectCode(w.ns.makeDirectory(A, 'c1', 'notes'), ErrorCodes.ALREADY_EXISTS);
        await put(w, 'c1', 'implicit/file', Buffer.from('f'));
        await expectCode(w.ns.makeDirectory(A, 'c1', 'implicit'), ErrorCodes.ALREADY_EXISTS);
        await expectCountsMatchScan(w.store);
      });

      it('removeDirectory: DIRECTORY_NOT_EMPTY while it has content, then removes its markers', async () => {
        await w.ns.makeDirectory(A, 'c1', 'd');
        await marker('d2'); // a bare marker
        await put(w, 'c1', 'd/f', Buffer.from('f'));
        await expectCode(w.ns.removeDirectory(A, 'c1', 'd'), ErrorCodes.DIRECTORY_NOT_EMPTY);
        await w.ns.makeDirectory(A, 'c1', 'd/sub');
        await w.ns.deleteObject(A, 'c1', 'd/f');
        await expectCode(w.ns.removeDirectory(A, 'c1', 'd'), ErrorCodes.DIRECTORY_NOT_EMPTY); // d/sub/ is inside
        await w.ns.removeDirectory(A, 'c1', 'd/sub');
        await w.ns.removeDirectory(A, 'c1', 'd');
        await w.ns.removeDirectory(A, 'c1', 'd2');
        expect(await w.ns.directoryExists(A, 'c1', 'd')).toBe(false);
        expect(await w.ns.listObjects(A, 'c1', { limit: 10 })).toEqual([]);
        await expectCode(w.ns.removeDirectory(A, 'c1', 'd'), ErrorCodes.NOT_FOUND);
        await expectNoStrayBlobs(w);
      });

      it('renameDirectory moves 500 objects atomically without copying bytes', async () => {
        const n = 500;
        const before = new Map<string, ObjectRecord>();
        await w.ns.makeDirectory(A, 'c1', 'src');
        const recs = await Promise.all(Array.from({ length: n }, (_, i) => put(w, 'c1', `src/sub${i % 7}/f${i}`, Buffer.from(`body ${i}`))));
        for (const r of recs) before.set(r.name, r);
        await put(w, 'c1', 'src-sibling', Buffer.from('stays'));
        const blobsBefore = await listBlobIds(w.blobs);
        const countsBefore = await w.store.getContainer(A, 'c1');

        // Watch the container while the rename runs: one listing is one LevelDB
        // snapshot, and no snapshot may show a half-moved directory.
        let renaming = true;
        const observations: Array<[number, number]> = [];
        const watcher = (async () => {
          while (renaming) {
            const all = await w.store.listObjects(A, 'c1', { limit: 10_000 });
            observations.push([all.filter((e) => e.name.startsWith('src/')).length, all.filter((e) => e.name.startsWith('dst/')).length]);
            await new Promise((r) => setImmediate(r));
          }
        })();
        const moved = await w.ns.renameDirectory(A, 'c1', 'src', 'dst');
        renaming = false;
        await watcher;
        expect(moved).toBe(n + 1);
        for (const [s, d] of observations) expect([s, d]).toSatisfy(([x, y]: number[]) => (x === n + 1 && y === 0) || (x === 0 && y === n + 1));

        expect(await w.ns.listObjects(A, 'c1', { prefix: 'src/', limit: 10 })).toEqual([]);
        for (const [name, old] of before) {
          const now = (await w.ns.getObject(A, 'c1', `dst/${name.slice(4)}`))!;
          expect([now.blobId, now.size, now.etag, now.timestamp]).toEqual([old.blobId, old.size, old.etag, old.timestamp]);
        }
        expect(await w.ns.getObject(A, 'c1', 'src-sibling')).toBeDefined();
        const sample = (await w.ns.getObject(A, 'c1', 'dst/sub3/f10'))!;
        expect((await content(w, sample)).toString()).toBe('body 10');
        expect(await listBlobIds(w.blobs)).toEqual(blobsBefore); // no byte copied, none lost
        expect(await w.store.getContainer(A, 'c1')).toMatchObject({ objectCount: countsBefore!.objectCount, bytesUsed: countsBefore!.bytesUsed });
        await expectNoStrayBlobs(w);
      });

      it('renameDirectory refuses an existing target and a move into itself', async () => {
        await put(w, 'c1', 'a/1', Buffer.from('1'));
        await put(w, 'c1', 'b/1', Buffer.from('1'));
        await put(w, 'c1', 'file', Buffer.from('1'));
        await expectCode(w.ns.renameDirectory(A, 'c1', 'a', 'b'), ErrorCodes.ALREADY_EXISTS);
        await expectCode(w.ns.renameDirectory(A, 'c1', 'a', 'file'), ErrorCodes.ALREADY_EXISTS);
        await expectCode(w.ns.renameDirectory(A, 'c1', 'a', 'a/inner'), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(w.ns.renameDirectory(A, 'c1', 'none', 'x'), ErrorCodes.NOT_FOUND);
        expect((await w.ns.listObjects(A, 'c1', { limit: 10 })).map((e) => e.name)).toEqual(['a/1', 'b/1', 'file']);
      });
    });

    // ------------------------------------------------------------------- expiry

    describe('X-Delete-At', () => {
      it('an expired object is hidden at once and reaped by reapExpired', async () => {
        const t0 = 1_800_000_000;
        w.clock.now = t0;
        await put(w, 'c1', 'soon', Buffer.from('ephemeral'), { deleteAt: t0 + 10 });
        await put(w, 'c1', 'later', Buffer.from('stays a while'), { deleteAt: t0 + 1000 });
        await put(w, 'c1', 'forever', Buffer.from('stays'));
        expect(await w.ns.getObject(A, 'c1', 'soon')).toBeDefined();
        expect(await w.ns.reapExpired()).toBe(0);

        w.clock.now = t0 + 10; // X-Delete-At is inclusive: gone at that second
        expect(await w.ns.getObject(A, 'c1', 'soon')).toBeUndefined();
        await expectCode(w.ns.deleteObject(A, 'c1', 'soon'), ErrorCodes.OBJECT_NOT_FOUND);
        await expectCode(w.ns.updateObjectMeta(A, 'c1', 'soon', { meta: { set: { a: 'b' } } }), ErrorCodes.OBJECT_NOT_FOUND);
        const mark = eventMark(w);
        expect(await w.ns.reapExpired()).toBe(1);
        expect(eventsSince(w, mark)).toEqual([{ kind: 'object', op: 'delete', account: A, container: 'c1', object: 'soon' }]);
        expect(await w.store.getObject(A, 'c1', 'soon')).toBeUndefined();
        expect((await w.ns.listObjects(A, 'c1', { limit: 10 })).map((e) => e.name)).toEqual(['forever', 'later']);
        expect(await w.ns.reapExpired()).toBe(0);
        await expectNoStrayBlobs(w);
      });

      it('follows X-Delete-At changes: set by POST, cleared by POST, dropped by an overwrite, kept by a rename', async () => {
        const t0 = 1_800_000_000;
        w.clock.now = t0;
        await put(w, 'c1', 'posted', Buffer.from('p'));
        await w.ns.updateObjectMeta(A, 'c1', 'posted', { deleteAt: t0 + 5 });
        await put(w, 'c1', 'cleared', Buffer.from('c'), { deleteAt: t0 + 5 });
        await w.ns.updateObjectMeta(A, 'c1', 'cleared', { deleteAt: null });
        await put(w, 'c1', 'overwritten', Buffer.from('o'), { deleteAt: t0 + 5 });
        await put(w, 'c1', 'overwritten', Buffer.from('o2'));
        await put(w, 'c1', 'moved', Buffer.from('m'), { deleteAt: t0 + 5 });
        await w.ns.renameObject(A, 'c1', 'moved', 'moved-to');
        await put(w, 'c1', 'moved-later', Buffer.from('ml'), { deleteAt: t0 + 5 });
        await w.ns.updateObjectMeta(A, 'c1', 'moved-later', { deleteAt: t0 + 500 });

        w.clock.now = t0 + 6;
        expect(await w.ns.reapExpired()).toBe(2);
        expect((await w.ns.listObjects(A, 'c1', { limit: 10 })).map((e) => e.name)).toEqual(['cleared', 'moved-later', 'overwritten']);
        w.clock.now = t0 + 600;
        expect(await w.ns.reapExpired()).toBe(1);
        expect(await w.store.listExpiredObjects(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
        await expectNoStrayBlobs(w);
      });
    });

    // -------------------------------------------------------------------- quotas

    describe('quotas', () => {
      it('container quota-bytes refuses uploads that would exceed it, with or without Content-Length', async () => {
        await w.ns.updateContainer(A, 'c1', { meta: { set: { 'quota-bytes': '100' } } });
        await put(w, 'c1', 'a', Buffer.alloc(60));
        await expectCode(put(w, 'c1', 'b', Buffer.alloc(41)), ErrorCodes.QUOTA_EXCEEDED);
        await expectCode(put(w, 'c1', 'b', Buffer.alloc(41), { chunked: true }), ErrorCodes.QUOTA_EXCEEDED);
        await put(w, 'c1', 'b', Buffer.alloc(40));
        await expectCode(w.ns.copyObject({ account: A, container: 'c1', name: 'b' }, { account: A, container: 'c1', name: 'c' }), ErrorCodes.QUOTA_EXCEEDED);
        expect((await w.ns.listObjects(A, 'c1', { limit: 10 })).map((e) => e.name)).toEqual(['a', 'b']);
        await expectNoStrayBlobs(w);
      });

      it('container quota-count refuses the object after the limit', async () => {
        await w.ns.updateContainer(A, 'c1', { meta: { set: { 'quota-count': '2' } } });
        await put(w, 'c1', 'a', Buffer.from('a'));
        await put(w, 'c1', 'b', Buffer.from('b'));
        await expectCode(put(w, 'c1', 'c', Buffer.from('c')), ErrorCodes.QUOTA_EXCEEDED);
        await expectCode(put(w, 'c1', 'c', Buffer.from('c'), { chunked: true }), ErrorCodes.QUOTA_EXCEEDED);
        await w.ns.deleteObject(A, 'c1', 'a');
        await put(w, 'c1', 'c', Buffer.from('c'));
        await expectNoStrayBlobs(w);
      });

      it('account quota-bytes (account meta) applies across containers', async () => {
        await w.ns.updateAccount(A, { meta: { set: { 'quota-bytes': '1000' } } });
        await w.ns.createContainer(A, 'c2');
        await put(w, 'c1', 'a', Buffer.alloc(600));
        await expectCode(put(w, 'c2', 'b', Buffer.alloc(500)), ErrorCodes.QUOTA_EXCEEDED);
        await expectCode(put(w, 'c2', 'b', Buffer.alloc(500), { chunked: true }), ErrorCodes.QUOTA_EXCEEDED);
        await put(w, 'c2', 'b', Buffer.alloc(400));
        expect(await w.ns.getAccount(A)).toMatchObject({ objectCount: 2, bytesUsed: 1000 });
        await w.ns.updateAccount(A, { meta: { set: { 'quota-bytes': '' } } }); // removes it
        await put(w, 'c2', 'c', Buffer.alloc(500));
        await expectNoStrayBlobs(w);
      });
    });

    // ----------------------------------------------------------------- failed uploads

    describe('failed uploads leave nothing behind', () => {
      function failingSource(after: number): Readable {
        let sent = 0;
        return new Readable({
          read() {
            if (sent >= after) {
              this.destroy(new Error('client went away'));
              return;
            }
            sent += 4096;
            this.push(Buffer.alloc(4096, 7));
          },
        });
      }

      it('a source stream that errors: no record, no blob, no pending mark, no temp file', async () => {
        await put(w, 'c1', 'keep', Buffer.from('old version'));
        const mark = eventMark(w);
        for (const [name, after] of [
          ['new', 0],
          ['new', 20_000],
          ['keep', 3 * 1024 * 1024],
        ] as const) {
          await expect(w.ns.putObject(A, 'c1', name, failingSource(after), { contentType: 't' })).rejects.toSatisfy((err: unknown) => isSwiftgateError(err, ErrorCodes.UPLOAD_ABORTED));
        }
        expect(await w.ns.getObject(A, 'c1', 'new')).toBeUndefined();
        const keep = (await w.ns.getObject(A, 'c1', 'keep'))!;
        expect((await content(w, keep)).toString()).toBe('old version');
        expect(eventsSince(w, mark)).toEqual([]);
        expect(await w.store.listPendingBlobs(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
        expect(await tempFiles(w.dir)).toEqual([]);
        expect(await listBlobIds(w.blobs)).toEqual([keep.blobId]);
        await expectNoStrayBlobs(w);
      });

      it('an ETag mismatch: nothing stored, the old version intact', async () => {
        await put(w, 'c1', 'keep', Buffer.from('old version'));
        const body = Buffer.from('new version');
        await expectCode(w.ns.putObject(A, 'c1', 'keep', source(body), { contentType: 't', expectedEtag: md5(Buffer.from('something else')) }), ErrorCodes.ETAG_MISMATCH);
        await expectCode(w.ns.putObject(A, 'c1', 'fresh', source(body), { contentType: 't', expectedEtag: 'abc' }), ErrorCodes.ETAG_MISMATCH);
        // The right ETag, in upper case as some clients send it, is accepted.
        await w.ns.putObject(A, 'c1', 'ok', source(body), { contentType: 't', expectedEtag: md5(body).toUpperCase() });
        expect((await content(w, (await w.ns.getObject(A, 'c1', 'keep'))!)).toString()).toBe('old version');
        expect(await w.ns.getObject(A, 'c1', 'fresh')).toBeUndefined();
        expect(await w.store.getContainer(A, 'c1')).toMatchObject({ objectCount: 2, bytesUsed: 22 });
        await expectNoStrayBlobs(w);
      });

      it('a size mismatch (Content-Length) and an aborted upload: nothing stored', async () => {
        await expectCode(w.ns.putObject(A, 'c1', 'short', source(Buffer.alloc(10)), { contentType: 't', expectedSize: 11 }), ErrorCodes.SIZE_MISMATCH);
        await expectCode(w.ns.putObject(A, 'c1', 'long', source(Buffer.alloc(12)), { contentType: 't', expectedSize: 11 }), ErrorCodes.SIZE_MISMATCH);
        const ac = new AbortController();
        const slow = new Readable({ read() {} });
        slow.push(Buffer.alloc(100));
        const p = w.ns.putObject(A, 'c1', 'aborted', slow, { contentType: 't', signal: ac.signal });
        setTimeout(() => ac.abort(), 20);
        await expectCode(p, ErrorCodes.UPLOAD_ABORTED);
        expect(await w.ns.listObjects(A, 'c1', { limit: 10 })).toEqual([]);
        await expectNoStrayBlobs(w);
      });

      it('an upload abandoned after its last byte, before the commit, is not committed', async () => {
        for (const size of [100, 300_000]) {
          // The caller gives up the moment the source ends (an FTP client killed mid-STOR).
          const ac = new AbortController();
          const body = source(Buffer.alloc(size, 1));
          body.once('end', () => ac.abort());
          await expectCode(w.ns.putObject(A, 'c1', `late-${size}`, body, { contentType: 't', signal: ac.signal }), ErrorCodes.UPLOAD_ABORTED);
        }
        expect(await w.ns.listObjects(A, 'c1', { limit: 10 })).toEqual([]);
        await expectNoStrayBlobs(w);
      });
    });
  });
}
