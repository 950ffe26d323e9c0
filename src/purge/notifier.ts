/**
 * Keeps external cache tiers (nginx proxy_cache, Varnish, a CDN) as fresh as the
 * gateway's own cache: for every change on the feed, each public URL of the changed
 * object and of the listings it appears in is sent to every configured target. Runs in
 * one process (the store owner sees every process's events). The queue is bounded
 * (oldest dropped and counted), each request retried with backoff.
 */
import { request as httpRequest } from 'node:http';
import type { ChangeEvent, ChangeFeed } from '../core/change-feed.ts';
import type { DomainDirectory } from '../domains.ts';
import { type UrlContext, publicUrlsFor } from './public-urls.ts';

export type PurgeMode =
  /** `PURGE <path>` with the URL's Host (Varnish, nginx with ngx_cache_purge). */
  | 'purge'
  /** `GET <path>` with a bypass header, so stock nginx (`proxy_cache_bypass`) refetches and replaces the entry. */
  | 'refresh'
  /** `POST` of `{"urls": [...]}` as JSON (CDN APIs, custom hooks). */
  | 'webhook';

export interface PurgeTarget {
  url: string;
  mode: PurgeMode;
  /** Header that makes a `refresh` bypass the cache (default X-Purge). */
  header?: string;
}

export interface PurgeOptions {
  targets: PurgeTarget[];
  apiBase?: string;
  storageDomain?: string;
  /** URLs waiting at most (default 10,000). */
  maxQueue?: number;
  attempts?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

export interface PurgeStats {
  sent: number;
  failed: number;
  dropped: number;
  queued: number;
}

export class PurgeNotifier {
  private readonly queue: string[] = [];
  private readonly stats: PurgeStats = { sent: 0, failed: 0, dropped: 0, queued: 0 };
  private running = false;
  private stopped = false;
  /** Event batches still being turned into URLs (they look up domains first). */
  private resolving = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly unsubscribe: () => void;

  constructor(
    feed: ChangeFeed,
    private readonly domains: DomainDirectory,
    private readonly opts: PurgeOptions,
  ) {
    // Not awaited by the writer: an external cache is invalidated as fast as the network allows,
    // but a slow CDN must never hold up an upload's acknowledgement.
    this.unsubscribe = feed.subscribe((events) => {
      this.resolving++;
      void this.onEvents(events).finally(() => {
        this.resolving--;
        this.wakeIdle();
      });
    });
  }

  getStats(): PurgeStats {
    return { ...this.stats, queued: this.queue.length };
  }

  /** Resolves when every change seen so far has been sent (or given up on). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return !this.running && this.queue.length === 0 && this.resolving === 0;
  }

  private wakeIdle(): void {
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2000))]);
    this.stopped = true;
  }

  private async onEvents(events: readonly ChangeEvent[]): Promise<void> {
    const ctx: UrlContext = {
      ...(this.opts.apiBase ? { apiBase: this.opts.apiBase } : {}),
      ...(this.opts.storageDomain ? { storageDomain: this.opts.storageDomain } : {}),
      domains: [],
    };
    const touched = new Map<string, ChangeEvent[]>();
    for (const e of events) {
      if ((e.kind !== 'object' && e.kind !== 'container') || e.container === undefined) continue;
      const list = touched.get(e.account) ?? [];
      list.push(e);
      touched.set(e.account, list);
    }
    for (const [account, list] of touched) {
      ctx.domains = await this.domains.list(account).catch(() => []);
      for (const e of list) this.enqueue(publicUrlsFor(account, e.container as string, e.kind === 'object' ? e.object : undefined, ctx));
    }
  }

  private enqueue(urls: string[]): void {
    for (const u of urls) {
      if (this.queue.length >= (this.opts.maxQueue ?? 10_000)) {
        this.queue.shift();
        this.stats.dropped++;
      }
      this.queue.push(u);
    }
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const batch = this.queue.splice(0, 100);
        await Promise.all(this.opts.targets.map((t) => this.sendAll(t, batch)));
      }
    } finally {
      this.running = false;
      this.wakeIdle();
    }
  }

  private async sendAll(target: PurgeTarget, urls: string[]): Promise<void> {
    if (target.mode === 'webhook') {
      await this.withRetry(() => this.request(target.url, 'POST', { 'content-type': 'application/json' }, JSON.stringify({ urls })), urls.length);
      return;
    }
    // Eight at a time per target: enough to keep up, few enough not to flood a cache node.
    for (let i = 0; i < urls.length; i += 8) {
      await Promise.all(
        urls.slice(i, i + 8).map((u) => {
          const parsed = new URL(u);
          const path = parsed.pathname + parsed.search;
          const headers: Record<string, string> = { host: parsed.host };
          if (target.mode === 'refresh') headers[(target.header ?? 'X-Purge').toLowerCase()] = '1';
          return this.withRetry(() => this.request(target.url.replace(/\/+$/, '') + path, target.mode === 'purge' ? 'PURGE' : 'GET', headers), 1);
        }),
      );
    }
  }

  private async withRetry(send: () => Promise<number>, count: number): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    for (let a = 1; a <= attempts; a++) {
      try {
        const status = await send();
        // 404 from a PURGE means "was not cached": that is success too.
        if (status < 500) {
          this.stats.sent += count;
          return;
        }
      } catch {
        // network error: retry
      }
      if (a < attempts) await new Promise((r) => setTimeout(r, (this.opts.retryDelayMs ?? 200) * 2 ** (a - 1)));
    }
    this.stats.failed += count;
  }

  private async request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method, headers, timeout: this.opts.timeoutMs ?? 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
