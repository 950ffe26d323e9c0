/**
 * Which gateways share a change feed, and which of them have applied what: the pieces
 * that let `PostgresChangeFeed.publish` wait until every other live gateway has dropped
 * its stale cache entries. No clustering of our own: presence is a row per gateway
 * process in a small table, kept fresh by a heartbeat over the gateway's LISTEN
 * connection, and tied to that connection's backend pid, so a gateway whose connection
 * died stops counting at once (PostgreSQL drops the backend) rather than after its lease.
 */
import type { Client, Pool } from 'pg';
import { quoteIdent, sqlState } from './db.ts';

export interface PresenceSql {
  /** Creates the table if missing (gateways race on first start: duplicates are fine). */
  ensure: string;
  /** $1 id, $2 channel: insert or refresh this gateway's row (the backend pid is the caller's). */
  beat: string;
  /** $1 id. */
  leave: string;
  /** Rows of processes gone for an hour. */
  prune: string;
  /**
   * $1 channel, $2 payloads, $3 own id, $4 lease ms: sends the notifications and, in the
   * same statement (one snapshot, one round trip), lists the other live gateways.
   */
  notify: string;
}

export function presenceSql(schema = 'public'): PresenceSql {
  const t = `${quoteIdent(schema)}.${quoteIdent('gateways')}`;
  return {
    ensure: `CREATE TABLE IF NOT EXISTS ${t} (
        id           text NOT NULL PRIMARY KEY,
        channel      text NOT NULL,
        pid          integer NOT NULL,
        started_at   timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      )`,
    beat: `INSERT INTO ${t} (id, channel, pid) VALUES ($1, $2, pg_backend_pid())
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), pid = pg_backend_pid()`,
    leave: `DELETE FROM ${t} WHERE id = $1`,
    prune: `DELETE FROM ${t} WHERE heartbeat_at < now() - interval '1 hour'`,
    // Rows of a function scan come in array order, so notifications keep event order;
    // the aggregate makes the notify run even when no other gateway is listed.
    notify: `SELECT n.sent, ARRAY(
               SELECT g.id FROM ${t} g
               WHERE g.channel = $1 AND g.id <> $3
                 AND g.heartbeat_at > now() - make_interval(secs => $4::float8 / 1000)
                 AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = g.pid)
             ) AS peers
             FROM (SELECT count(pg_notify($1, p)) AS sent FROM unnest($2::text[]) AS p) n`,
  };
}

/** Creates the presence table; concurrent creators may collide on the catalog, which is harmless. */
export async function ensurePresenceTable(db: Client | Pool, sql: PresenceSql): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query(sql.ensure);
      return;
    } catch (err) {
      const state = sqlState(err);
      if (attempt < 3 && (state === '23505' || state === '42P07')) continue;
      throw err;
    }
  }
}

/** The channel a gateway hears acknowledgements on (identifiers stop at 63 bytes). */
export function ackChannel(originId: string): string {
  return `swiftgate_ack_${originId.replace(/-/g, '')}`.slice(0, 63);
}

interface Waiter {
  seq: number;
  peers: Set<string>;
  done: (late: string[]) => void;
  timer: NodeJS.Timeout;
}

/**
 * Publisher side: batches are numbered; each waits until every peer listed when it was
 * sent has acknowledged that number or a later one, or until the timeout.
 */
export class AckTracker {
  private readonly acked = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly timeoutMs: number) {}

  /** Resolves with the peers that did not acknowledge in time (empty when all did). */
  wait(seq: number, peers: readonly string[]): Promise<string[]> {
    const missing = new Set(peers.filter((p) => (this.acked.get(p) ?? -1) < seq));
    if (missing.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        seq,
        peers: missing,
        done: (late) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(late);
        },
        timer: setTimeout(() => waiter.done([...waiter.peers]), this.timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  ack(peer: string, seq: number): void {
    if ((this.acked.get(peer) ?? -1) >= seq) return;
    this.acked.set(peer, seq);
    for (const w of [...this.waiters]) {
      if (w.seq <= seq && w.peers.delete(peer) && w.peers.size === 0) w.done([]);
    }
  }

  /** On close: nobody will acknowledge any more. */
  releaseAll(): void {
    for (const w of [...this.waiters]) w.done([]);
  }
}
