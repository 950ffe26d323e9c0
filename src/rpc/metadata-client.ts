/**
 * The client side of MetadataHost: a MetadataStore whose methods run in the host
 * process, and a ChangeFeed that publishes through the host to every other process.
 */
import { type Socket, connect } from 'node:net';
import { type ChangeEvent, type ChangeFeed, type ChangeListener, LocalChangeFeed } from '../core/change-feed.ts';
import { type ErrorCode, SwiftgateError, errors } from '../core/errors.ts';
import type { Mutated, MutationArgs, MutationName, MutationValue, Mutator } from '../core/mutations.ts';
import type { MetadataStore } from '../metadata/store.ts';
import { readFrames, writeFrame } from './framing.ts';
import type { ClientMessage, HostMessage } from './protocol.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

export class MetadataConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Events from other processes are delivered to this process's listeners. */
  readonly localFeed = new LocalChangeFeed();

  private constructor(private readonly socket: Socket) {
    readFrames(socket, (m) => this.onMessage(m as HostMessage));
    const fail = () => {
      const err = errors.backendUnavailable('lost the connection to the metadata host');
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  static async connect(socketPath: string): Promise<MetadataConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    }).catch((err: unknown) => {
      throw errors.backendUnavailable(`cannot reach the metadata host at ${socketPath}`, err);
    });
    socket.setNoDelay(true);
    return new MetadataConnection(socket);
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    return this.request({ t: 'call', id: 0, method, args });
  }

  async *iterate(method: string, args: unknown[]): AsyncIterable<unknown> {
    const iter = (await this.request({ t: 'iter-open', id: 0, method, args })) as number;
    let finished = false;
    try {
      while (!finished) {
        const { batch, done } = (await this.request({ t: 'iter-next', id: 0, iter, max: 500 })) as { batch: unknown[]; done: boolean };
        finished = done;
        yield* batch;
      }
    } finally {
      if (!finished) this.send({ t: 'iter-close', iter });
    }
  }

  publish(events: readonly ChangeEvent[]): Promise<void> {
    return this.request({ t: 'publish', id: 0, events: [...events] }).then(() => undefined);
  }

  mutate<K extends MutationName>(name: K, args: MutationArgs<K>): Promise<Mutated<MutationValue<K>>> {
    return this.request({ t: 'mutate', id: 0, name, args: [...args] }) as Promise<Mutated<MutationValue<K>>>;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private request(msg: ClientMessage & { id: number }): Promise<unknown> {
    const id = this.nextId++;
    msg.id = id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(msg);
    });
  }

  private send(msg: ClientMessage): void {
    writeFrame(this.socket, msg);
  }

  private onMessage(msg: HostMessage): void {
    if (msg.t === 'events') {
      void this.localFeed.publish(msg.events).finally(() => this.send({ t: 'ack', eid: msg.eid }));
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.t === 'result') p.resolve(msg.value);
    else p.reject(new SwiftgateError(msg.code as ErrorCode, msg.message));
  }
}

/** A MetadataStore that forwards every call to the metadata host. */
export function remoteMetadataStore(conn: MetadataConnection): MetadataStore {
  return new Proxy({} as MetadataStore, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      if (prop === 'close') return async () => conn.close();
      if (prop.startsWith('scan')) return (...args: unknown[]) => conn.iterate(prop, args);
      return (...args: unknown[]) => conn.call(prop, args);
    },
  });
}

/** Publishes through the host (which waits for every other process) and to local listeners. */
export class RemoteChangeFeed implements ChangeFeed {
  constructor(private readonly conn: MetadataConnection) {}

  async publish(events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await Promise.all([this.conn.localFeed.publish(events), this.conn.publish(events)]);
  }

  subscribe(listener: ChangeListener): () => void {
    return this.conn.localFeed.subscribe(listener);
  }
}

/**
 * Runs mutations in the metadata host: check, commit and every other process's
 * invalidation in one round trip; then this process's own listeners, before resolving.
 */
export class RemoteMutator implements Mutator {
  constructor(private readonly conn: MetadataConnection) {}

  async run<K extends MutationName>(name: K, ...args: MutationArgs<K>): Promise<MutationValue<K>> {
    const { value, events } = await this.conn.mutate(name, args);
    await this.conn.localFeed.publish(events);
    return value;
  }
}
