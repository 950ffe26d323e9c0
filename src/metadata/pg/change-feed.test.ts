import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { ChangeEvent } from '../../core/change-feed.ts';
import { ErrorCodes } from '../../core/errors.ts';
import { type PgServer, startPgServer } from '../../../test/scale/pg-server.ts';
import { FLUSH_ALL, PostgresChangeFeed, isFlushAll } from './change-feed.ts';

let server: PgServer;
const feeds: PostgresChangeFeed[] = [];

beforeAll(async () => {
  server = await startPgServer();
});

afterAll(async () => {
  await Promise.all(feeds.map((f) => f.close()));
  await server?.stop();
});

async function gateway(name: string, extra: Partial<Parameters<typeof PostgresChangeFeed.open>[0]> = {}) {
  const errors: Error[] = [];
  const feed = await PostgresChangeFeed.open({
    connectionString: server.connectionString,
    client: { application_name: `feed-${name}` },
    reconnectDelayMs: 50,
    heartbeatMs: 200,
    onError: (e) => errors.push(e),
    ...extra,
  });
  feeds.push(feed);
  const seen: ChangeEvent[] = [];
  feed.subscribe((events) => {
    seen.push(...events);
  });
  return { feed, seen, errors };
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ev = (object: string): ChangeEvent => ({ kind: 'object', op: 'put', account: 'AUTH_a', container: 'c', object });

describe('PostgresChangeFeed', () => {
  it('delivers locally at once and to other gateways, never echoing a gateway its own events', async () => {
    const a = await gateway('a1');
    const b = await gateway('b1');
    const others: ChangeEvent[] = [
      { kind: 'user', op: 'delete', account: 'AUTH_a', user: 'bob' },
      { kind: 'domain', op: 'put', account: 'AUTH_a', domain: 'www.example.com' },
    ];
    await a.feed.publish([ev('one'), ...others]);
    // Local delivery is part of publish.
    expect(a.seen).toEqual([ev('one'), ...others]);
    await until(() => b.seen.length === 3, 'b to see the events');
    expect(b.seen).toEqual(a.seen);
    await b.feed.publish([ev('two')]);
    await until(() => a.seen.length === 4, 'a to see b');
    await new Promise((r) => setTimeout(r, 100));
    expect(a.seen.map((e) => e.object)).toEqual(['one', undefined, undefined, 'two']);
    expect(b.seen.map((e) => e.object)).toEqual(['one', undefined, undefined, 'two']);
  });

  it('splits large batches under the NOTIFY payload limit and keeps their order', async () => {
    const a = await gateway('a2');
    const b = await gateway('b2');
    const long = 'x/'.repeat(500); // 1000-byte names: a handful per notification
    const events = Array.from({ length: 300 }, (_, i) => ev(`${long}${i}`));
    await a.feed.publish(events);
    await until(() => b.seen.length === events.length, 'all 300 events');
    expect(b.seen).toEqual(events);
  });

  it('delivers every event of many concurrent publishes, each publish in one piece', async () => {
    const a = await gateway('a5');
    const b = await gateway('b5');
    await Promise.all(Array.from({ length: 200 }, (_, i) => a.feed.publish([ev(`p${i}-1`), ev(`p${i}-2`)])));
    await until(() => b.seen.length === 400, 'all 400 events');
    const names = b.seen.map((e) => e.object as string);
    expect(new Set(names).size).toBe(400);
    for (let i = 0; i < 200; i++) expect(names.indexOf(`p${i}-2`)).toBe(names.indexOf(`p${i}-1`) + 1);
  });

  it('flushes everything after its listening connection comes back, then hears others again', async () => {
    const a = await gateway('a3');
    const b = await gateway('b3');
    const before = b.feed.connectCount;
    const admin = new pg.Client(server.connectionString);
    await admin.connect();
    try {
      const r = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'feed-b3'`);
      expect(r.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    // Published while b is not listening: lost to b, which is why it must flush.
    await a.feed.publish([ev('while-down')]);
    await until(() => b.feed.connectCount > before, 'b to reconnect');
    await until(() => b.seen.some(isFlushAll), 'the flush-all signal');
    expect(b.seen.find(isFlushAll)).toEqual(FLUSH_ALL);
    expect(b.errors.length).toBeGreaterThan(0); // the loss was reported
    await a.feed.publish([ev('after')]);
    await until(() => b.seen.some((e) => e.object === 'after'), 'events after the reconnect');
    expect(a.seen.some(isFlushAll)).toBe(false);
  });

  it('ignores foreign or malformed notifications on its channel', async () => {
    const b = await gateway('b4');
    const c = new pg.Client(server.connectionString);
    await c.connect();
    try {
      await c.query(`SELECT pg_notify('swiftgate_changes', $1)`, ['not json']);
      await c.query(`SELECT pg_notify('swiftgate_changes', $1)`, [JSON.stringify({ o: 'x', e: [{ kind: 'bogus' }] })]);
      await c.query(`SELECT pg_notify('swiftgate_changes', $1)`, [JSON.stringify({ o: 'x', e: [{ ...ev('n'), object: 42 }] })]);
      await c.query(`SELECT pg_notify('swiftgate_changes', $1)`, [JSON.stringify({ o: 'x', e: [ev('valid')] })]);
    } finally {
      await c.end();
    }
    await until(() => b.seen.length === 1, 'the one valid event');
    expect(b.seen).toEqual([ev('valid')]);
  });

  it('publish resolves only after every other live gateway has applied the events', async () => {
    const channel = 'sg_test_acks';
    const a = await gateway('a6', { channel });
    const slow = async (name: string) => {
      const g = await gateway(name, { channel });
      const applied: ChangeEvent[] = [];
      g.feed.subscribe(async (events) => {
        await new Promise((r) => setTimeout(r, 150));
        applied.push(...events);
      });
      return applied;
    };
    const b = await slow('b6');
    const c = await slow('c6');
    for (let i = 0; i < 5; i++) {
      await a.feed.publish([ev(`acked-${i}`)]);
      // No waiting here: the very next statement after publish sees them applied.
      expect(b.at(-1)?.object).toBe(`acked-${i}`);
      expect(c.at(-1)?.object).toBe(`acked-${i}`);
    }
    expect(a.errors).toEqual([]);
  });

  it('waits a bounded time for a live gateway that does not acknowledge, and not at all for a dead or departed one', async () => {
    const channel = 'sg_test_silent';
    const a = await gateway('a7', { channel, ackTimeoutMs: 300 });
    const admin = new pg.Client(server.connectionString);
    await admin.connect();
    try {
      // A row whose backend is gone (a crashed gateway): not waited for.
      await admin.query(`INSERT INTO gateways (id, channel, pid) VALUES ('dead', $1, 999999)`, [channel]);
      let t = Date.now();
      await a.feed.publish([ev('d')]);
      expect(Date.now() - t).toBeLessThan(250);
      // A row on a live backend that never answers (a stalled gateway): waited for 300 ms, then reported.
      await admin.query(`INSERT INTO gateways (id, channel, pid) VALUES ('silent', $1, pg_backend_pid())`, [channel]);
      t = Date.now();
      await a.feed.publish([ev('s')]);
      expect(Date.now() - t).toBeGreaterThanOrEqual(290);
      expect(a.errors.some((e) => /did not acknowledge/.test(e.message) && e.message.includes('silent'))).toBe(true);
      await admin.query(`DELETE FROM gateways WHERE id IN ('dead', 'silent')`);
      // A gateway that closes leaves the table at once.
      const b = await gateway('b7', { channel });
      expect((await admin.query('SELECT 1 FROM gateways WHERE id = $1', [b.feed.originId])).rowCount).toBe(1);
      await b.feed.close();
      expect((await admin.query('SELECT 1 FROM gateways WHERE id = $1', [b.feed.originId])).rowCount).toBe(0);
      t = Date.now();
      await a.feed.publish([ev('after-close')]);
      expect(Date.now() - t).toBeLessThan(250);
    } finally {
      await admin.end();
    }
  });

  it('flushes at once when its listening connection fails, and keeps flushing until it is back', async () => {
    const b = await gateway('b8', { reconnectDelayMs: 400, flushWhileDownMs: 50 });
    const admin = new pg.Client(server.connectionString);
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'feed-b8'`);
    } finally {
      await admin.end();
    }
    await until(() => b.seen.filter(isFlushAll).length >= 3, 'repeated flushes while down', 2000);
    const before = b.feed.connectCount;
    await until(() => b.feed.connectCount > before, 'b to reconnect');
    const n = b.seen.filter(isFlushAll).length;
    await new Promise((r) => setTimeout(r, 200));
    expect(b.seen.filter(isFlushAll).length).toBe(n); // no more once connected
  });

  it('fails to open with BACKEND_UNAVAILABLE when the database is unreachable', async () => {
    await expect(
      PostgresChangeFeed.open({ connectionString: 'postgres://u@127.0.0.1:1/db', client: { connectionTimeoutMillis: 2000 } }),
    ).rejects.toMatchObject({ code: ErrorCodes.BACKEND_UNAVAILABLE });
  });
});
