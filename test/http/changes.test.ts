/**
 * The account change stream (`GET /v1/AUTH_x?changes`, interfaces/http/changes.ts) on a
 * real gateway: reset first, events of that account only, heartbeats, who may open it,
 * the per-process cap, and that neither plain listings nor a graceful close suffer.
 */
import { type IncomingMessage, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeStreamLimits } from '../../interfaces/http/changes.ts';
import { type Session, session } from './client.ts';
import { type Harness, startHarness } from './harness.ts';

interface Line {
  type: string;
  kind?: string;
  op?: string;
  container?: string;
  object?: string;
}

/** One open stream: its status, content type, the lines seen so far, and a waiter. */
interface Opened {
  status: number;
  contentType: string;
  lines: Line[];
  /** Resolves with the first line (from `from` on) matching; rejects after `ms`. */
  next(match: (l: Line) => boolean, ms?: number, from?: number): Promise<Line>;
  /** Resolves with 'end' (clean end of the body) or 'error' (connection cut) within `ms`. */
  ended(ms?: number): Promise<'end' | 'error'>;
  close(): void;
}

function openStream(storageUrl: string, token: string | undefined, query = 'changes'): Promise<Opened> {
  const u = new URL(`${storageUrl}?${query}`);
  return new Promise((resolve, reject) => {
    const req = request(u, { headers: token ? { 'x-auth-token': token } : {} }, (res: IncomingMessage) => {
      const lines: Line[] = [];
      const waiters = new Set<() => void>();
      let buf = '';
      let finished: 'end' | 'error' | undefined;
      const wake = () => {
        for (const w of [...waiters]) w();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (res.headers['content-type']?.startsWith('application/x-ndjson')) lines.push(JSON.parse(text) as Line);
        }
        wake();
      });
      res.on('end', () => {
        finished ??= 'end';
        wake();
      });
      res.on('error', () => {
        finished ??= 'error';
        wake();
      });
      res.on('aborted', () => {
        finished ??= 'error';
        wake();
      });
      const wait = <T>(test: () => T | undefined, ms: number, what: string): Promise<T> =>
        new Promise((ok, fail) => {
          const check = () => {
            const v = test();
            if (v === undefined) return;
            clearTimeout(timer);
            waiters.delete(check);
            ok(v);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`${what} within ${ms} ms; lines: ${JSON.stringify(lines)}`));
          }, ms);
          waiters.add(check);
          check();
        });
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        lines,
        next: (match, ms = 3000, from = 0) => wait(() => lines.slice(from).find(match), ms, 'no matching line'),
        ended: (ms = 5000) => wait(() => finished, ms, 'stream did not end'),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let h: Harness;
let owner: Session;
let reader: Session;
let other: Session;
let reseller: Session;

beforeAll(async () => {
  h = await startHarness();
  owner = await session(h.url, 'test:tester', 'testing');
  reader = await session(h.url, 'test:tester3', 'testing3');
  other = await session(h.url, 'test2:tester2', 'testing2');
  reseller = await session(h.url, 'admin:admin', 'admin');
  await owner.req('PUT', '/c');
  await other.req('PUT', '/theirs');
});
afterAll(async () => h?.close());

const isChange = (container: string, object?: string, op?: string) => (l: Line) =>
  l.type === 'change' && l.container === container && l.object === object && (op === undefined || l.op === op);

describe('GET /v1/AUTH_x?changes', () => {
  it('starts with a reset line, then streams the account changes as they are committed', async () => {
    const s = await openStream(owner.storageUrl, owner.token);
    try {
      expect(s.status).toBe(200);
      expect(s.contentType).toMatch(/^application\/x-ndjson/);
      await s.next((l) => l.type === 'reset');
      expect(s.lines[0]).toEqual({ type: 'reset' });
      expect((await owner.req('PUT', '/c/a/b.txt', { body: 'x' })).status).toBe(201);
      // Written before the writer was answered: already here, or on its way over loopback.
      expect(await s.next(isChange('c', 'a/b.txt', 'put'))).toEqual({ type: 'change', kind: 'object', op: 'put', container: 'c', object: 'a/b.txt' });
      await owner.req('POST', '/c/a/b.txt', { headers: { 'X-Object-Meta-X': '1' } });
      await s.next(isChange('c', 'a/b.txt', 'update'));
      await owner.req('DELETE', '/c/a/b.txt');
      await s.next(isChange('c', 'a/b.txt', 'delete'));
      await owner.req('PUT', '/new-container');
      expect(await s.next(isChange('new-container', undefined, 'put'))).toMatchObject({ kind: 'container' });
      await owner.req('POST', '', { headers: { 'X-Account-Meta-Color': 'blue' } });
      expect(await s.next((l) => l.kind === 'account')).toEqual({ type: 'change', kind: 'account', op: 'update' });
    } finally {
      s.close();
    }
  });

  it("never shows another account's events", async () => {
    const s = await openStream(other.storageUrl, other.token);
    try {
      await s.next((l) => l.type === 'reset');
      await owner.req('PUT', '/c/secret.txt', { body: 'x' });
      await owner.req('PUT', '/c-two');
      // Events leave in commit order: once this one is here, the others would be too.
      await other.req('PUT', '/theirs/mine.txt', { body: 'y' });
      await s.next(isChange('theirs', 'mine.txt'));
      expect(s.lines.filter((l) => l.type === 'change')).toEqual([{ type: 'change', kind: 'object', op: 'put', container: 'theirs', object: 'mine.txt' }]);
    } finally {
      s.close();
    }
  });

  it('sends heartbeats at the asked interval', async () => {
    const s = await openStream(owner.storageUrl, owner.token, 'changes&heartbeat=0.3');
    try {
      await s.next((l) => l.type === 'heartbeat', 3000);
      const t0 = Date.now();
      await s.next((l) => l.type === 'heartbeat', 3000, s.lines.findIndex((l) => l.type === 'heartbeat') + 1);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      s.close();
    }
  });

  it('is only for whoever may read the whole account', async () => {
    // A user without account read (no .admin, no account ACL): 403, as the account listing.
    const denied = await openStream(owner.storageUrl, reader.token);
    expect(denied.status).toBe(403);
    denied.close();
    const anon = await openStream(owner.storageUrl, undefined);
    expect(anon.status).toBe(401);
    anon.close();
    const foreign = await openStream(owner.storageUrl, other.token);
    expect(foreign.status).toBe(403);
    foreign.close();
    // A reseller admin may read every account.
    const res = await openStream(owner.storageUrl, reseller.token);
    expect(res.status).toBe(200);
    res.close();

    // A read-only account ACL grants it; withdrawing the ACL ends the stream.
    await owner.req('POST', '', { headers: { 'X-Account-Access-Control': JSON.stringify({ 'read-only': ['test:tester3'] }) } });
    const granted = await openStream(owner.storageUrl, reader.token);
    try {
      expect(granted.status).toBe(200);
      await granted.next((l) => l.type === 'reset');
      await owner.req('POST', '', { headers: { 'X-Account-Access-Control': '{}' } });
      expect(await granted.ended()).toBe('end');
      expect((await openStream(owner.storageUrl, reader.token)).status).toBe(403);
    } finally {
      granted.close();
    }
  });

  it('ends the stream of a user who is removed', async () => {
    await h.gateway.core.users.addUser({ account: 'test', user: 'temp', key: 'tempkey', admin: true, replace: true });
    const temp = await session(h.url, 'test:temp', 'tempkey');
    const s = await openStream(temp.storageUrl, temp.token);
    try {
      await s.next((l) => l.type === 'reset');
      await h.gateway.core.users.removeUser('test', 'temp');
      expect(await s.ended()).toBe('end');
    } finally {
      s.close();
    }
  });

  it('caps concurrent streams per process (503)', async () => {
    const saved = changeStreamLimits.maxStreams;
    changeStreamLimits.maxStreams = 2;
    const open: Opened[] = [];
    try {
      open.push(await openStream(owner.storageUrl, owner.token), await openStream(owner.storageUrl, owner.token));
      for (const s of open) await s.next((l) => l.type === 'reset');
      const third = await openStream(owner.storageUrl, owner.token);
      open.push(third);
      expect(third.status).toBe(503);
      // A closed stream frees its place.
      open[0]?.close();
      await expect.poll(async () => {
        const s = await openStream(owner.storageUrl, owner.token);
        open.push(s);
        return s.status;
      }, { timeout: 3000, interval: 50 }).toBe(200);
    } finally {
      changeStreamLimits.maxStreams = saved;
      for (const s of open) s.close();
    }
  });

  it('leaves plain account and container listings alone', async () => {
    await owner.req('PUT', '/c/listed.txt', { body: 'z' });
    const list = await owner.req('GET', '?format=json');
    expect(list.status).toBe(200);
    expect(((await list.json()) as Array<{ name: string }>).map((c) => c.name)).toContain('c');
    const plain = await owner.req('GET', '?limit=1');
    expect(await plain.text()).toBe('c\n');
    // HEAD with the parameter is the account HEAD; on a container it is just a listing.
    expect((await owner.req('HEAD', '?changes')).status).toBe(204);
    const cont = await owner.req('GET', '/c?changes&format=json');
    expect(cont.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await cont.json()) as Array<{ name: string }>).map((o) => o.name)).toContain('listed.txt');
  });

  it('ends open streams cleanly when the server closes, without holding the close up', async () => {
    const h2 = await startHarness();
    let closed = false;
    try {
      const me = await session(h2.url, 'test:tester', 'testing');
      const s = await openStream(me.storageUrl, me.token);
      await s.next((l) => l.type === 'reset');
      const t0 = Date.now();
      await h2.close();
      closed = true;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await s.ended()).toBe('end');
    } finally {
      if (!closed) await h2.close();
    }
  });
});
