/**
 * Pushed invalidation for remote mounts of a swiftgate endpoint: one long-lived
 * `GET <storage-url>?changes` (interfaces/http/changes.ts), whose lines are turned into
 * the same MountChanges local mode gets from the in-process feed. `reset` — the first
 * line of every connection — drops the whole cache, so events missed while disconnected
 * never leave anything stale. A lost connection is retried with backoff; meanwhile the
 * cache TTL is the safety net. An endpoint that refuses (4xx: e.g. a user who may not
 * read the whole account) or does not speak it (plain Swift answers a listing) leaves
 * the mount on TTL expiry only, logged once.
 */
import type { IncomingMessage } from 'node:http';
import { type MountChange, mountChangeOf } from '../backend.ts';
import type { SwiftClient } from './client.ts';
import { RemoteError } from './errors.ts';

export interface PushOptions {
  client: SwiftClient;
  onChanges(changes: MountChange[]): void;
  log(msg: string): void;
  /** The client's idle timeout: heartbeats are asked for well within it. */
  timeoutMs: number;
  /** First reconnect delay, doubling up to maxBackoffMs (default 250 ms / 15 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export type PushState = 'connecting' | 'live' | 'reconnecting' | 'unsupported' | 'closed';

/** Why one connection ended: retry, or give up for good. */
type Outcome = { retry: true; reason: string } | { retry: false; reason: string };

interface StreamLine {
  type?: unknown;
  kind?: unknown;
  op?: unknown;
  container?: unknown;
  object?: unknown;
}

const MAX_LINE = 64 * 1024;

export class PushInvalidation {
  private readonly opts: PushOptions;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private current: IncomingMessage | undefined;
  private wake: (() => void) | undefined;
  private stateValue: PushState = 'connecting';
  private resets = 0;
  private started = false;

  constructor(opts: PushOptions) {
    this.opts = opts;
    this.minBackoff = opts.minBackoffMs ?? 250;
    this.maxBackoff = opts.maxBackoffMs ?? 15_000;
  }

  get state(): PushState {
    return this.stateValue;
  }

  /** Connections that delivered their reset line so far. */
  get connections(): number {
    return this.resets;
  }

  /** Starts the connection loop (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  private get closed(): boolean {
    return this.stateValue === 'closed';
  }

  close(): void {
    this.stateValue = 'closed';
    this.current?.destroy();
    this.wake?.();
  }

  private async run(): Promise<void> {
    let delay = this.minBackoff;
    let lostReported = false;
    while (!this.closed) {
      const outcome = await this.connectOnce();
      if (this.closed) return;
      if (!outcome.retry) {
        this.stateValue = 'unsupported';
        this.opts.log(`no pushed invalidation (${outcome.reason}): changes made elsewhere show within --cache-ttl`);
        return;
      }
      if (this.stateValue === 'live') {
        // It worked until now: start the backoff over.
        delay = this.minBackoff;
        lostReported = false;
      }
      if (!lostReported) {
        this.opts.log(`change stream lost (${outcome.reason}); reconnecting, --cache-ttl applies meanwhile`);
        lostReported = true;
      }
      this.stateValue = 'reconnecting';
      // Jitter: many mounts of a restarted gateway must not come back in lockstep.
      await this.sleep(delay * (0.8 + Math.random() * 0.4));
      delay = Math.min(this.maxBackoff, delay * 2);
    }
  }

  private async connectOnce(): Promise<Outcome> {
    // Heartbeats twice per idle timeout: a dead connection fails within --timeout.
    const heartbeatS = Math.min(15, Math.max(0.2, this.opts.timeoutMs / 2000));
    let res: IncomingMessage;
    try {
      res = await this.opts.client.stream('GET', '', { query: { changes: '', heartbeat: heartbeatS } });
    } catch (err) {
      const status = err instanceof RemoteError ? err.status : 0;
      if (status >= 400 && status < 500) return { retry: false, reason: `the endpoint answered ${status}` };
      return { retry: true, reason: err instanceof Error ? err.message : String(err) };
    }
    if (this.closed) {
      res.destroy();
      return { retry: false, reason: 'closed' };
    }
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-ndjson')) {
      res.destroy();
      return { retry: false, reason: `not a swiftgate change stream (${res.statusCode} ${type || 'no content type'})` };
    }
    this.current = res;
    try {
      return await this.consume(res);
    } finally {
      this.current = undefined;
      res.destroy();
    }
  }

  /** Reads lines until the stream ends; the first must be a reset. */
  private async consume(res: IncomingMessage): Promise<Outcome> {
    let buf = '';
    let first = true;
    try {
      res.setEncoding('utf8');
      for await (const chunk of res as AsyncIterable<string>) {
        buf += chunk;
        const changes: MountChange[] = [];
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = parseLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (first) {
            if (line?.type !== 'reset') return { retry: false, reason: 'the stream did not start with a reset' };
            first = false;
          }
          if (line?.type === 'reset') {
            changes.push({ kind: 'all' });
            this.onReset();
          } else if (line?.type === 'change') {
            const c = mountChangeOf(line);
            if (c) changes.push(c);
          }
          // Heartbeats and unknown lines only keep the connection alive.
        }
        if (changes.length > 0) this.opts.onChanges(changes);
        if (buf.length > MAX_LINE) return { retry: true, reason: 'a line longer than 64 KiB' };
      }
      return { retry: true, reason: 'the server ended it' };
    } catch (err) {
      return { retry: true, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  private onReset(): void {
    if (this.stateValue !== 'live') this.opts.log(this.resets === 0 ? 'change stream connected: changes made elsewhere are pushed' : 'change stream back; cache flushed');
    this.stateValue = 'live';
    this.resets++;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((ok) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        ok();
      }
      this.wake = done;
    });
  }
}

function parseLine(text: string): StreamLine | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as StreamLine) : undefined;
  } catch {
    return undefined;
  }
}

