/**
 * The change feed: every committed mutation is published here, and it is the single
 * source of cache invalidation. `publish` resolves only when every subscriber (in this
 * process and, for distributed feeds, in every other process) has seen the events, so
 * a writer that awaits it before acknowledging can never leave a stale cache behind.
 */
/**
 * `user`: a user's key, groups or existence changed (token caches drop that user's tokens).
 * `domain`: a custom domain was mapped or unmapped (resolvers drop it).
 */
export type ChangeKind = 'account' | 'container' | 'object' | 'user' | 'domain';
export type ChangeOp = 'put' | 'update' | 'delete';

export interface ChangeEvent {
  kind: ChangeKind;
  op: ChangeOp;
  account: string;
  container?: string;
  object?: string;
  /** For `user` events: the bare user name (account is the storage account). */
  user?: string;
  /** For `domain` events: the host name. */
  domain?: string;
}

/** A listener must be quick and must not throw; it may return a promise that the publisher awaits. */
export type ChangeListener = (events: readonly ChangeEvent[]) => void | Promise<void>;

export interface ChangeFeed {
  publish(events: readonly ChangeEvent[]): Promise<void>;
  subscribe(listener: ChangeListener): () => void;
}

/** Delivers events to the listeners of this process. Distributed feeds wrap one of these. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pending: Promise<void>[] = [];
    for (const listener of this.listeners) {
      try {
        const r = listener(events);
        if (r) pending.push(r.catch(() => undefined));
      } catch {
        // A faulty subscriber must not undo a committed write; it is its job to recover.
      }
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
