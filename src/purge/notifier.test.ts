import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalChangeFeed } from '../core/change-feed.ts';
import { DEFAULT_CONSTRAINTS } from '../core/constraints.ts';
import { DomainDirectory } from '../domains.ts';
import { LevelMetadataStore } from '../metadata/level-store.ts';
import { PurgeNotifier } from './notifier.ts';
import { publicUrlsFor } from './public-urls.ts';

describe('publicUrlsFor', () => {
  it('names the object and every listing it appears in, under every URL form', () => {
    const urls = publicUrlsFor('AUTH_shop', 'web', 'img/2024/logo.gif', {
      apiBase: 'http://cs1.example.net',
      storageDomain: 'storage.example.net',
      domains: [{ domain: 'st.shop.com', account: 'AUTH_shop', container: 'web', createdAt: '' }],
    });
    expect(urls).toContain('http://cs1.example.net/v1/AUTH_shop/web/img/2024/logo.gif');
    expect(urls).toContain('http://cs1.example.net/v1/AUTH_shop/web');
    expect(urls).toContain('http://st.shop.com/img/2024/logo.gif');
    expect(urls).toContain('http://st.shop.com/img/');
    expect(urls).toContain('http://st.shop.com/img/2024/');
    expect(urls).toContain('http://st.shop.com/');
    expect(urls).toContain('http://web.auth_shop.storage.example.net/img/2024/logo.gif');
    expect(urls).toContain('http://auth_shop.storage.example.net/web/img/2024/logo.gif');
  });
});

describe('PurgeNotifier', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let feed: LocalChangeFeed;
  let domains: DomainDirectory;
  const received: Array<{ method: string; host: string; url: string; header?: string; body: string }> = [];
  let failNext = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 503;
        res.end();
        return;
      }
      received.push({ method: req.method ?? '', host: req.headers.host ?? '', url: req.url ?? '', header: req.headers['x-purge'] as string | undefined, body });
      res.end('ok');
    });
  });
  let target = '';

  beforeEach(async () => {
    received.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'sg-purge-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    feed = new LocalChangeFeed();
    domains = new DomainDirectory(store, feed, DEFAULT_CONSTRAINTS);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends PURGE for each public URL with the right Host, and retries a failing cache', async () => {
    await domains.add('st.shop.com', 'AUTH_shop', 'web');
    const n = new PurgeNotifier(feed, domains, { targets: [{ url: target, mode: 'purge' }], retryDelayMs: 10 });
    failNext = 1;
    await feed.publish([{ kind: 'object', op: 'delete', account: 'AUTH_shop', container: 'web', object: 'img/logo.gif' }]);
    await n.idle();
    expect(received.some((r) => r.method === 'PURGE' && r.host === 'st.shop.com' && r.url === '/img/logo.gif')).toBe(true);
    expect(received.some((r) => r.method === 'PURGE' && r.host === 'st.shop.com' && r.url === '/img/')).toBe(true);
    expect(n.getStats().failed).toBe(0);
    await n.close();
  });

  it('refresh mode sends GET with the bypass header; webhook mode posts the URL list', async () => {
    await domains.add('st.shop.com', 'AUTH_shop', 'web');
    const n = new PurgeNotifier(feed, domains, {
      targets: [
        { url: target, mode: 'refresh' },
        { url: `${target}/hook`, mode: 'webhook' },
      ],
      apiBase: 'http://cs1.example.net',
    });
    await feed.publish([{ kind: 'object', op: 'put', account: 'AUTH_shop', container: 'web', object: 'a.css' }]);
    await n.idle();
    expect(received.some((r) => r.method === 'GET' && r.header === '1' && r.host === 'st.shop.com' && r.url === '/a.css')).toBe(true);
    const hook = received.find((r) => r.method === 'POST');
    expect(JSON.parse(hook?.body ?? '{}').urls).toContain('http://cs1.example.net/v1/AUTH_shop/web/a.css');
    await n.close();
  });

  it('bounds its queue when the cache is unreachable', async () => {
    const n = new PurgeNotifier(feed, domains, { targets: [{ url: 'http://127.0.0.1:1', mode: 'purge' }], apiBase: 'http://cs1.example.net', maxQueue: 5, attempts: 1 });
    // One burst: far more URLs than the queue holds arrive while the first batch is in flight.
    await feed.publish(
      Array.from({ length: 50 }, (_, i) => ({ kind: 'object' as const, op: 'put' as const, account: 'AUTH_shop', container: 'web', object: `f${i}` })),
    );
    await n.idle();
    const s = n.getStats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.queued).toBe(0);
    await n.close();
  });
});
