/**
 * Serves a MetadataStore, and relays change events, over a unix socket. Workers and
 * CLI commands reach the one LevelDB through it; `publish` resolves for the sender only
 * after every other connected process has applied the events (its caches are clean).
 */
import { existsSync, unlinkSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import type { ChangeEvent, ChangeFeed } from '../core/change-feed.ts';
import { SwiftgateError } from '../core/errors.ts';
import { type MutationArgs, MutationRunner, isMutationName } from '../core/mutations.ts';
import type { MetadataStore } from '../metadata/store.ts';
import { readFrames, writeFrame } from './framing.ts';
import type { ClientMessage, HostMessage } from './protocol.ts';

interface Peer {
  socket: Socket;
  iters: Map<number, AsyncIterator<unknown>>;
  nextIter: number;
  /** Event batches sent and not yet acknowledged: eid → release their publishers. */
  acks: Map<number, () => void>;
  /** Events for this peer gathered during the current tick, sent as one batch. */
  outgoing: { events: ChangeEvent[]; sent: Promise<void>; release: () => void } | undefined;
}

export class MetadataHost {
  private readonly peers = new Set<Peer>();
  private nextEid = 1;
  private server: Server | undefined;
  private unsubscribe: (() => void) | undefined;
  /**
   * Requests served, by kind ("call:getObject", "publish", …): each one is a client round
   * trip; "ack": event batches acknowledged (not round trips of the writer).
   */
  readonly requests = new Map<string, number>();
  private readonly mutations: MutationRunner;

  constructor(
    private readonly store: MetadataStore,
    /** The host process's own feed: events from peers are delivered to it, and its own events go to peers. */
    private readonly feed: ChangeFeed,
  ) {
    this.mutations = new MutationRunner(store);
  }

  async listen(socketPath: string): Promise<void> {
    if (existsSync(socketPath)) unlinkSync(socketPath); // left by a crashed run; the store lock proves we own it
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(socketPath, () => resolve());
    });
    // Events published in the host process itself (reaper, CLI-in-process) reach every peer.
    this.unsubscribe = this.feed.subscribe((events) => this.broadcast(events, undefined));
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    for (const p of this.peers) p.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const peer: Peer = { socket, iters: new Map(), nextIter: 1, acks: new Map(), outgoing: undefined };
    this.peers.add(peer);
    const drop = () => {
      this.peers.delete(peer);
      for (const it of peer.iters.values()) void it.return?.();
      // A peer that dies before acking has no cache left to be stale.
      for (const release of peer.acks.values()) release();
      peer.acks.clear();
      peer.outgoing?.release();
      peer.outgoing = undefined;
    };
    socket.on('close', drop);
    socket.on('error', drop);
    readFrames(socket, (msg) => void this.handle(peer, msg as ClientMessage));
  }

  private async handle(peer: Peer, msg: ClientMessage): Promise<void> {
    switch (msg.t) {
      case 'ack':
        this.requests.set('ack', (this.requests.get('ack') ?? 0) + 1);
        peer.acks.get(msg.eid)?.();
        peer.acks.delete(msg.eid);
        return;
      case 'iter-close':
        void peer.iters.get(msg.iter)?.return?.();
        peer.iters.delete(msg.iter);
        return;
      default:
        break;
    }
    const kind = msg.t === 'call' || msg.t === 'iter-open' ? `${msg.t}:${msg.method}` : msg.t === 'mutate' ? `mutate:${msg.name}` : msg.t;
    this.requests.set(kind, (this.requests.get(kind) ?? 0) + 1);
    try {
      let value: unknown;
      if (msg.t === 'call') {
        const fn = (this.store as unknown as Record<string, unknown>)[msg.method];
        if (typeof fn !== 'function' || msg.method.startsWith('scan') || msg.method === 'close')
          throw new Error(`no such method ${msg.method}`);
        value = await (fn as (...a: unknown[]) => Promise<unknown>).apply(this.store, msg.args);
      } else if (msg.t === 'iter-open') {
        const fn = (this.store as unknown as Record<string, unknown>)[msg.method];
        if (typeof fn !== 'function' || !msg.method.startsWith('scan')) throw new Error(`no such scan ${msg.method}`);
        const iterable = (fn as (...a: unknown[]) => AsyncIterable<unknown>).apply(this.store, msg.args);
        const id = peer.nextIter++;
        peer.iters.set(id, iterable[Symbol.asyncIterator]());
        value = id;
      } else if (msg.t === 'iter-next') {
        const it = peer.iters.get(msg.iter);
        const batch: unknown[] = [];
        let done = !it;
        while (it && batch.length < msg.max) {
          const r = await it.next();
          if (r.done) {
            done = true;
            peer.iters.delete(msg.iter);
            break;
          }
          batch.push(r.value);
        }
        value = { batch, done };
      } else if (msg.t === 'mutate') {
        // Check + commit, then every other process applies the events, then answer: the
        // sender applies them to its own caches before acknowledging its client.
        if (!isMutationName(msg.name)) throw new Error(`no such mutation ${msg.name}`);
        const done = await this.mutations.run(msg.name, msg.args as MutationArgs<typeof msg.name>);
        if (done.events.length > 0) await this.feedFromPeer(done.events, peer);
        value = done;
      } else {
        // publish: the host's own listeners, then every other peer, then answer.
        await this.feedFromPeer(msg.events, peer);
        value = undefined;
      }
      this.send(peer, { t: 'result', id: msg.id, value });
    } catch (err) {
      const code = err instanceof SwiftgateError ? err.code : 'SG_INTERNAL';
      this.send(peer, { t: 'error', id: msg.id, code, message: err instanceof Error ? err.message : String(err) });
    }
  }

  private relaying = new WeakSet<readonly ChangeEvent[]>();

  private async feedFromPeer(events: ChangeEvent[], from: Peer): Promise<void> {
    // Deliver to the host's own subscribers without echoing back through `broadcast` to all.
    this.relaying.add(events);
    try {
      await Promise.all([this.feed.publish(events), this.broadcast(events, from)]);
    } finally {
      this.relaying.delete(events);
    }
  }

  private broadcast(events: readonly ChangeEvent[], except: Peer | undefined): Promise<void> {
    if (this.relaying.has(events) && except === undefined) return Promise.resolve(); // already relayed by feedFromPeer
    const waits: Promise<void>[] = [];
    for (const peer of this.peers) {
      if (peer === except || peer.socket.destroyed) continue;
      waits.push(this.enqueue(peer, events));
    }
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * Events for one peer published in the same tick (a group commit answers many writers
   * at once) go out as one batch with one acknowledgement; order is kept.
   */
  private enqueue(peer: Peer, events: readonly ChangeEvent[]): Promise<void> {
    let batch = peer.outgoing;
    if (!batch) {
      let release!: () => void;
      const sent = new Promise<void>((resolve) => (release = resolve));
      batch = { events: [], sent, release };
      peer.outgoing = batch;
      process.nextTick(() => this.flush(peer));
    }
    batch.events.push(...events);
    return batch.sent;
  }

  private flush(peer: Peer): void {
    const batch = peer.outgoing;
    if (!batch) return;
    peer.outgoing = undefined;
    if (peer.socket.destroyed) return batch.release();
    const eid = this.nextEid++;
    peer.acks.set(eid, batch.release);
    this.send(peer, { t: 'events', eid, events: batch.events });
  }

  private send(peer: Peer, msg: HostMessage): void {
    if (!peer.socket.destroyed) writeFrame(peer.socket, msg);
  }
}
