/**
 * A change feed across gateways over PostgreSQL's LISTEN/NOTIFY (PostgreSQL only;
 * CockroachDB and YugabyteDB lack it, see docs/scale-out.md).
 *
 * publish = deliver to this process's subscribers + `pg_notify` on a channel. One
 * dedicated connection LISTENs and hands other gateways' events to local subscribers;
 * events carry the publishing feed's random id, so a gateway skips its own.
 *
 * publish resolves once every other *live* gateway has applied the events (as the local
 * feed does within a process): each gateway has a row in `gateways` (presence.ts), the
 * NOTIFY statement also lists the live ones, and each receiver NOTIFYs an acknowledgement
 * (its id, the batch number) on the publisher's ack channel after its subscribers ran.
 * A gateway that does not acknowledge within `ackTimeoutMs` is reported and no longer
 * waited for: it is cut off or stalled, and flushes itself when it notices (below).
 *
 * NOTIFY is fire-and-forget: events sent while a listener is disconnected are lost to
 * it. So when the LISTEN connection fails (a heartbeat over it errs or times out), the
 * feed delivers FLUSH_ALL (`{ kind: 'account', op: 'update', account: '*' }`) at once,
 * again every `flushWhileDownMs` while it is down, and once more when LISTEN is back:
 * subscribers must drop everything they cache. docs/scale-out.md states the guarantee.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Client, ClientConfig, Notification, Pool } from 'pg';
import { type ChangeEvent, type ChangeFeed, type ChangeListener, LocalChangeFeed } from '../../core/change-feed.ts';
import { mapError, quoteIdent } from './db.ts';
import { AckTracker, ackChannel, ensurePresenceTable, type PresenceSql, presenceSql } from './presence.ts';

/** Account `*`: every cached entry may be stale; drop them all. */
export const FLUSH_ALL_ACCOUNT = '*';
export const FLUSH_ALL: ChangeEvent = Object.freeze({ kind: 'account', op: 'update', account: FLUSH_ALL_ACCOUNT });

export function isFlushAll(event: ChangeEvent): boolean {
  return event.kind === 'account' && event.account === FLUSH_ALL_ACCOUNT;
}

export interface PostgresChangeFeedOptions {
  connectionString?: string;
  /** Connection settings of the LISTEN connection (and of the NOTIFY pool unless `pool` is given). */
  client?: ClientConfig;
  /** Pool to send notifications through (e.g. the metadata store's); default: a small own pool. */
  pool?: Pool;
  /** Default "swiftgate_changes". */
  channel?: string;
  /** First reconnect delay, doubling up to 5 s (default 100 ms). */
  reconnectDelayMs?: number;
  /**
   * How often this gateway refreshes its presence row over the LISTEN connection, which
   * also notices silent network failures (default 1 s).
   */
  heartbeatMs?: number;
  /** Presence lease: a gateway whose row is older than this is not waited for (default 5 heartbeats). */
  leaseMs?: number;
  /** How long publish waits for other gateways' acknowledgements (default 500 ms). */
  ackTimeoutMs?: number;
  /** While the LISTEN connection is down, caches are flushed this often (default 100 ms). */
  flushWhileDownMs?: number;
  /** Schema of the presence table (default "public"). */
  schema?: string;
  /** Connection losses and failed notifications, for logging; the feed recovers by itself. */
  onError?: (err: Error) => void;
}

/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7800;
const MAX_RECONNECT_DELAY = 5000;

/** What travels in a NOTIFY payload (built by hand in `encode`, checked on receipt). */
interface Payload {
  o: string; // origin: the publishing feed's id
  s?: number; // batch number, on the last payload of a batch only: acknowledge it
  e: ChangeEvent[];
}

/** An acknowledgement, on the publisher's ack channel. */
interface Ack {
  a: string; // the acknowledging feed's id
  s: number;
}

export class PostgresChangeFeed implements ChangeFeed {
  /** Identifies this feed's own notifications (one feed per gateway process). */
  readonly originId = randomUUID();
  readonly channel: string;
  private readonly local = new LocalChangeFeed();
  private readonly pool: Pool;
  private readonly ownPool: boolean;
  private readonly clientConfig: ClientConfig;
  private readonly onError: (err: Error) => void;
  private readonly reconnectDelayMs: number;
  private listener: Client | undefined;
  private delay: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly heartbeatTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly flushWhileDownMs: number;
  private downTimer: NodeJS.Timeout | undefined;
  private readonly sql: PresenceSql;
  readonly ackChannel: string;
  private readonly acks: AckTracker;
  private seq = 0;
  /** Highest batch number applied per origin, not yet acknowledged. */
  private readonly ackDue = new Map<string, number>();
  private ackScheduled = false;
  /** Remote events are handed on in arrival order, one batch at a time. */
  private delivering: Promise<void> = Promise.resolve();
  private closed = false;
  private connects = 0;
  private readonly outbox: Array<{ events: readonly ChangeEvent[]; resolve: () => void }> = [];
  private sending = false;

  private constructor(options: PostgresChangeFeedOptions) {
    this.channel = options.channel ?? 'swiftgate_changes';
    this.clientConfig = {
      ...(options.connectionString ? { connectionString: options.connectionString } : {}),
      ...options.client,
      keepAlive: true,
      application_name: options.client?.application_name ?? 'swiftgate-change-feed',
    };
    this.ownPool = options.pool === undefined;
    this.pool = options.pool ?? new pg.Pool({ ...this.clientConfig, max: 2 });
    if (this.ownPool) this.pool.on('error', () => {});
    this.onError = options.onError ?? (() => {});
    this.reconnectDelayMs = options.reconnectDelayMs ?? 100;
    this.delay = this.reconnectDelayMs;
    const beat = options.heartbeatMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 5 * beat;
    this.heartbeatTimeoutMs = Math.min(5000, Math.max(beat, this.leaseMs / 2));
    this.flushWhileDownMs = options.flushWhileDownMs ?? 100;
    this.sql = presenceSql(options.schema);
    this.ackChannel = ackChannel(this.originId);
    this.acks = new AckTracker(options.ackTimeoutMs ?? 500);
    this.heartbeat = setInterval(() => void this.probe(), beat);
    this.heartbeat.unref();
  }

  /** Connects the LISTEN connection; fails with BACKEND_UNAVAILABLE if the database is unreachable. */
  static async open(options: PostgresChangeFeedOptions): Promise<PostgresChangeFeed> {
    const feed = new PostgresChangeFeed(options);
    try {
      await feed.connect();
    } catch (err) {
      await feed.close();
      throw mapError(err, 'change feed database');
    }
    return feed;
  }

  /** Number of successful (re)connects of the LISTEN connection so far. */
  get connectCount(): number {
    return this.connects;
  }

  get connected(): boolean {
    return this.listener !== undefined;
  }

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await Promise.all([this.local.publish(events), this.notify(events)]);
  }

  subscribe(listener: ChangeListener): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopFlushingWhileDown();
    this.acks.releaseAll();
    const client = this.listener;
    this.listener = undefined;
    // Leaving explicitly: the others stop waiting for us now, not after the lease.
    await client?.query(this.sql.leave, [this.originId]).catch(() => {});
    await client?.end().catch(() => {});
    if (this.ownPool) await this.pool.end().catch(() => {});
    await this.delivering;
  }

  /**
   * Queues events for NOTIFY. While one notification is on its way, later publishes
   * gather and go together in the next: one round trip per batch, not per write.
   */
  private notify(events: readonly ChangeEvent[]): Promise<void> {
    return new Promise((resolve) => {
      this.outbox.push({ events, resolve });
      if (!this.sending) void this.send();
    });
  }

  private async send(): Promise<void> {
    this.sending = true;
    try {
      while (this.outbox.length > 0) {
        const batch = this.outbox.splice(0);
        const seq = ++this.seq;
        const payloads = this.encode(batch.flatMap((b) => b.events), seq);
        let peers: string[] = [];
        for (let attempt = 1; ; attempt++) {
          try {
            const r = await this.pool.query<{ peers: string[] }>(this.sql.notify, [this.channel, payloads, this.originId, this.leaseMs]);
            peers = r.rows[0]?.peers ?? [];
            break;
          } catch (err) {
            // The writes are committed already: failing them now would only mislead clients.
            // Gateways whose listener lost the database flush everything themselves.
            if (attempt >= 2 || this.closed) {
              this.onError(mapError(err, 'change feed: notify'));
              break;
            }
          }
        }
        // The next batch goes out while this one waits for its acknowledgements.
        void this.acks.wait(seq, peers).then((late) => {
          if (late.length > 0 && !this.closed)
            this.onError(new Error(`change feed: ${late.length} gateway(s) did not acknowledge batch ${seq} in time (${late.join(', ')})`));
          for (const b of batch) b.resolve();
        });
      }
    } finally {
      this.sending = false;
    }
  }

  /** Splits events into payloads under the NOTIFY size limit (each event encoded once). */
  private encode(events: readonly ChangeEvent[], seq: number): string[] {
    const head = `{"o":${JSON.stringify(this.originId)},"e":[`;
    const tail = ']}';
    const last = `],"s":${seq}}`; // the batch number rides on its last payload
    const out: string[] = [];
    let parts: string[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (parts.length) out.push(head + parts.join(',') + tail);
      parts = [];
      bytes = 0;
    };
    const base = Buffer.byteLength(head) + tail.length;
    for (const event of events) {
      let part = JSON.stringify(event);
      let size = Buffer.byteLength(part);
      // Cannot happen within Swift's name limits; if it does, over-invalidate.
      if (base + size > MAX_PAYLOAD) {
        part = JSON.stringify(FLUSH_ALL);
        size = part.length;
      }
      if (base + bytes + size + 1 > MAX_PAYLOAD) flush();
      parts.push(part);
      bytes += size + 1;
    }
    flush();
    const i = out.length - 1;
    if (i >= 0) out[i] = (out[i] as string).slice(0, -tail.length) + last;
    return out;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('change feed connection ended')));
    client.on('notification', (msg) => this.receive(msg));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
      await client.query(`LISTEN ${quoteIdent(this.ackChannel)}`);
      // Announce ourselves only once listening: whoever lists us will be heard and answered.
      await ensurePresenceTable(client, this.sql);
      await client.query(this.sql.beat, [this.originId, this.channel]);
      if (this.connects === 0) await client.query(this.sql.prune);
    } catch (err) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.connects++;
    this.delay = this.reconnectDelayMs;
    this.stopFlushingWhileDown();
    // Anything published while we were not listening is lost to us: start afresh. (Not
    // on the first connect: nobody can have subscribed, let alone cached, before open returns.)
    if (this.connects > 1) this.deliver([FLUSH_ALL]);
  }

  private lost(client: Client, err: Error): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.removeAllListeners('notification');
    client.on('error', () => {}); // late errors of a dead connection
    void client.end().catch(() => {});
    if (this.closed) return;
    this.onError(mapError(err, 'change feed connection'));
    // Others no longer reach us: whatever we cache may go stale unnoticed from now on.
    this.deliver([FLUSH_ALL]);
    this.downTimer ??= setInterval(() => this.deliver([FLUSH_ALL]), this.flushWhileDownMs);
    this.downTimer.unref();
    this.scheduleReconnect();
  }

  private stopFlushingWhileDown(): void {
    if (this.downTimer) clearInterval(this.downTimer);
    this.downTimer = undefined;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((err: unknown) => {
        this.delay = Math.min(MAX_RECONNECT_DELAY, this.delay * 2);
        if (!this.closed) this.onError(mapError(err, 'change feed reconnect'));
        this.scheduleReconnect();
      });
    }, this.delay);
  }

  /**
   * The heartbeat: refreshes our presence row over the LISTEN connection itself, so it
   * also proves that connection alive (TCP alone may not notice a vanished peer for minutes).
   */
  private async probe(): Promise<void> {
    const client = this.listener;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query(this.sql.beat, [this.originId, this.channel]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('change feed heartbeat timed out')), this.heartbeatTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.lost(client, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
    }
  }

  private receive(msg: Notification): void {
    if (!msg.payload) return;
    let payload: unknown;
    try {
      payload = JSON.parse(msg.payload);
    } catch {
      return;
    }
    if (msg.channel === this.ackChannel) {
      if (isAck(payload)) this.acks.ack(payload.a, payload.s);
      return;
    }
    if (msg.channel !== this.channel || !isPayload(payload) || payload.o === this.originId) return;
    this.deliver(payload.e);
    const { o, s } = payload;
    if (s !== undefined) this.delivering = this.delivering.then(() => this.acknowledge(o, s)).catch(() => {});
  }

  private deliver(events: ChangeEvent[]): void {
    this.delivering = this.delivering.then(() => this.local.publish(events)).catch(() => {});
  }

  /** Acknowledgements applied meanwhile go out together, one per origin. */
  private acknowledge(origin: string, seq: number): void {
    this.ackDue.set(origin, Math.max(seq, this.ackDue.get(origin) ?? 0));
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const client = this.listener;
      const due = [...this.ackDue];
      this.ackDue.clear();
      // Without our LISTEN connection we must not claim to be in sync: the publisher times out.
      if (!client || due.length === 0) return;
      const channels = due.map(([o]) => ackChannel(o));
      const payloads = due.map(([, s]) => JSON.stringify({ a: this.originId, s } satisfies Ack));
      client
        .query('SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS x(c, p)', [channels, payloads])
        .catch((err: unknown) => this.onError(mapError(err, 'change feed: acknowledge')));
    });
  }
}

function isPayload(v: unknown): v is Payload {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as { o?: unknown; s?: unknown; e?: unknown };
  if (p.s !== undefined && !Number.isSafeInteger(p.s)) return false;
  return typeof p.o === 'string' && Array.isArray(p.e) && p.e.every(isEvent);
}

function isAck(v: unknown): v is Ack {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as { a?: unknown; s?: unknown };
  return typeof a.a === 'string' && Number.isSafeInteger(a.s);
}

/**
 * Shape only: kind, op and account plus optional string fields. Kinds are not checked
 * against a list, so events of kinds added later (by a newer gateway) still cross;
 * subscribers ignore kinds they do not know.
 */
function isEvent(v: unknown): v is ChangeEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  if (typeof e.kind !== 'string' || typeof e.op !== 'string' || typeof e.account !== 'string') return false;
  return Object.values(e).every((x) => typeof x === 'string');
}
