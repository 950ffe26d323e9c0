/**
 * One session's data connection: passive (PASV/EPSV) or active (PORT/EPRT), accepted
 * only from the control connection's peer, wrapped in TLS when PROT P is in effect.
 * The TLS handshake is not awaited here: the server replies 150 first and lets the
 * handshake run under the transfer, because clients such as lftp only start it then.
 */
import { connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { PassivePorts } from './passive-ports.ts';
import { reply } from './replies.ts';

export interface DataChannelOptions {
  ports: PassivePorts;
  secureContext: SecureContext | undefined;
  /** Waiting for the client to connect. */
  connectTimeoutMs: number;
  /** No byte moving on an open data connection. */
  idleTimeoutMs: number;
}

export function normalizeAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

type Pending =
  | { mode: 'passive'; server: Server; socket?: Socket; waiter?: (s: Socket) => void }
  | { mode: 'active'; host: string; port: number };

export class DataChannel {
  private pending: Pending | undefined;

  constructor(
    private readonly opts: DataChannelOptions,
    /** The control connection's peer: the only address allowed on the data channel. */
    private readonly peer: () => string,
  ) {}

  /** Opens a passive listener (replacing any earlier one); returns its port. */
  async passive(): Promise<number> {
    this.reset();
    let server: Server;
    try {
      server = await this.opts.ports.listen();
    } catch {
      throw reply.noDataConnection('No free passive port; try again later.');
    }
    const p: Pending = { mode: 'passive', server };
    this.pending = p;
    server.on('connection', (socket: Socket) => {
      if (p.socket || normalizeAddress(socket.remoteAddress) !== this.peer()) {
        socket.destroy(); // a second connection, or someone else: never hand our data to it
        return;
      }
      p.socket = socket;
      socket.on('error', () => undefined);
      server.close();
      p.waiter?.(socket);
    });
    server.on('error', () => undefined);
    return (server.address() as { port: number }).port;
  }

  /** PORT/EPRT: the server connects out, but only back to the control peer (no FXP bounce). */
  active(host: string, port: number): void {
    if (normalizeAddress(host) !== this.peer()) throw reply.syntax('PORT must name your own address.');
    if (port < 1024 || port > 65535) throw reply.syntax('PORT must be between 1024 and 65535.');
    this.reset();
    this.pending = { mode: 'active', host, port };
  }

  get ready(): boolean {
    return this.pending !== undefined;
  }

  /** The data connection for one transfer; the channel is used up by it. */
  async open(protect: boolean, signal: AbortSignal): Promise<Duplex> {
    const p = this.pending;
    if (!p) throw reply.noDataConnection('Use PASV, EPSV or PORT first.');
    this.pending = undefined;
    const raw = p.mode === 'passive' ? await this.accept(p, signal) : await this.connectOut(p.host, p.port, signal);
    // Writes here are large or final; without NODELAY a TLS handshake's small flights
    // wait ~40 ms for delayed ACKs, several times per (small) file.
    raw.setNoDelay(true);
    const idle = (s: Socket): void => {
      s.setTimeout(this.opts.idleTimeoutMs, () => s.destroy(new Error('data connection idle')));
    };
    if (!protect) {
      idle(raw); // left paused: the transfer's consumer starts the reading
      return raw;
    }
    if (!this.opts.secureContext) {
      raw.destroy();
      throw reply.noDataConnection('TLS is not configured.');
    }
    const tls = new TLSSocket(raw, { isServer: true, secureContext: this.opts.secureContext });
    tls.on('error', () => undefined); // surfaced to the transfer by its own stream handling
    // The 150 is already out, so waiting here cannot deadlock a client that starts the
    // handshake only after it; and ending before it completes would break empty transfers.
    await new Promise<void>((resolve, reject) => {
      const fail = (err?: Error): void => {
        clearTimeout(timer);
        tls.destroy();
        reject(reply.noDataConnection(`TLS handshake on the data connection failed${err ? `: ${err.message}` : ''}.`));
      };
      const timer = setTimeout(() => fail(), this.opts.connectTimeoutMs);
      signal.addEventListener('abort', () => fail(), { once: true });
      tls.once('secure', () => {
        clearTimeout(timer);
        tls.off('error', fail);
        tls.off('close', onClose);
        resolve();
      });
      const onClose = (): void => fail();
      tls.once('error', fail);
      tls.once('close', onClose);
    });
    idle(tls);
    return tls;
  }

  private accept(p: Extract<Pending, { mode: 'passive' }>, signal: AbortSignal): Promise<Socket> {
    if (p.socket) return Promise.resolve(p.socket);
    return new Promise((resolve, reject) => {
      const giveUp = (why: string): void => {
        clearTimeout(timer);
        p.server.close();
        reject(reply.noDataConnection(why));
      };
      const timer = setTimeout(() => giveUp("Can't open data connection: the client did not connect in time."), this.opts.connectTimeoutMs);
      signal.addEventListener('abort', () => giveUp('Transfer aborted.'), { once: true });
      p.waiter = (s) => {
        clearTimeout(timer);
        if (signal.aborted) s.destroy();
        else resolve(s);
      };
    });
  }

  private connectOut(host: string, port: number, signal: AbortSignal): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, timeout: this.opts.connectTimeoutMs, signal });
      const fail = (): void => {
        socket.destroy();
        reject(reply.noDataConnection(`Can't open data connection to ${host}:${port}.`));
      };
      socket.once('error', fail);
      socket.once('timeout', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.off('timeout', fail);
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  /** Drops any prepared connection (new PASV/PORT, session end). */
  reset(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p?.mode === 'passive') {
      p.server.close();
      p.socket?.destroy();
    }
  }
}
