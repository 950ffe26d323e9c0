/**
 * The FTP listener: accepts control connections up to a cap, tracks sessions, and shuts
 * down gracefully when swiftgate asks (no signal handlers here: the process owner decides).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { COMMANDS } from './commands/index.ts';
import { Session, type SessionContext } from './session.ts';

export interface FtpServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  context: SessionContext;
}

export class FtpServer {
  private readonly server: Server;
  private readonly sessions = new Set<Session>();

  constructor(private readonly opts: FtpServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => opts.context.log(`ftp listener: ${err.message}`));
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get connections(): number {
    return this.sessions.size;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.sessions.size >= this.opts.maxConnections) {
      socket.setNoDelay(true);
      socket.end('421 Too many connections; try again later.\r\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const session = new Session(socket, this.opts.context, COMMANDS);
    this.sessions.add(session);
    void session.whenClosed().then(() => this.sessions.delete(session));
    session.greet();
  }

  /** Ends the sessions of a user whose key, groups or existence changed. */
  revokeUser(account: string, user: string): void {
    for (const s of this.sessions) {
      const id = s.fs?.identity;
      if (id && id.user === user && (id.account === account || id.storageAccount === account)) {
        s.close(421, 'Your credentials changed; log in again.');
      }
    }
  }

  /**
   * After the shared change feed may have missed events: ends the sessions whose user
   * no longer exists (a removal made elsewhere while this gateway was disconnected).
   */
  async revalidate(exists: (account: string, user: string) => Promise<boolean>): Promise<void> {
    for (const s of this.sessions) {
      const id = s.fs?.identity;
      if (id && !(await exists(id.account, id.user).catch(() => true))) s.close(421, 'Your credentials changed; log in again.');
    }
  }

  /**
   * Stops accepting, lets running transfers finish for up to `graceMs`, then aborts
   * them (an aborted upload commits nothing) and closes every connection.
   */
  async close(graceMs = 10_000): Promise<void> {
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    const deadline = Date.now() + graceMs;
    for (const s of this.sessions) if (!s.busy) s.close(421, 'Server shutting down.');
    while ([...this.sessions].some((s) => s.busy) && Date.now() < deadline) await sleep(50);
    for (const s of this.sessions) s.close(421, 'Server shutting down.');
    const closing = Promise.all([...this.sessions].map((s) => s.whenClosed()));
    const bounded = await Promise.race([closing.then(() => true), sleep(2500).then(() => false)]);
    if (!bounded) for (const s of this.sessions) s.destroy();
    await stopped;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
