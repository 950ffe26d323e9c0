/**
 * One control connection: reads command lines, runs them one at a time (ABOR, STAT and
 * QUIT also while a transfer runs), owns the login, working directory, TLS state and the
 * data channel. Command semantics live in commands/*; this is only the machinery.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { AccountFs } from './account-fs.ts';
import { ControlReader } from './control-reader.ts';
import { DataChannel, normalizeAddress } from './data-channel.ts';
import type { PassivePorts } from './passive-ports.ts';
import { type FtpPath, ROOT, resolvePath } from './paths.ts';
import { FtpReply, formatReply, reply, replyForError } from './replies.ts';
import type { UserDirectory } from '../../auth/users.ts';
import type { Namespace } from '../../src/core/namespace.ts';

export interface SessionContext {
  namespace: Namespace;
  users: UserDirectory;
  ports: PassivePorts;
  secureContext: SecureContext | undefined;
  /** IPv4 address PASV advertises (NAT); else the control connection's local address. */
  pasvAddress: string | undefined;
  idleTimeoutMs: number;
  dataConnectTimeoutMs: number;
  dataIdleTimeoutMs: number;
  log(message: string): void;
}

export type Handler = (s: Session, arg: string) => Promise<void> | void;

export interface CommandSpec {
  run: Handler;
  /** Allowed before login. */
  open?: boolean;
  /** Runs at once, even while a transfer is in progress. */
  urgent?: boolean;
}

interface Transfer {
  abort(): void;
  aborted: boolean;
  bytes: number;
  done: Promise<void>;
}

const MAX_QUEUED = 32;
const MAX_FAILED_LOGINS = 3;

export class Session {
  control: Duplex;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly data: DataChannel;
  fs: AccountFs | undefined;
  pendingUser: { account: string; user: string } | undefined;
  cwd: FtpPath = ROOT;
  restOffset = 0;
  renameFrom: FtpPath | undefined;
  secure = false;
  pbsz = false;
  protectData = false;
  failedLogins = 0;
  transfer: Transfer | undefined;
  quitRequested = false;
  private readonly reader: ControlReader;
  private readonly queue: string[] = [];
  private running = false;
  private peerGone = false;
  private closed = false;
  private finished = false;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    readonly raw: Socket,
    readonly ctx: SessionContext,
    private readonly commands: ReadonlyMap<string, CommandSpec>,
  ) {
    this.control = raw;
    this.remoteAddress = normalizeAddress(raw.remoteAddress);
    this.localAddress = normalizeAddress(raw.localAddress);
    // Every reply is a small write the client waits for: Nagle + delayed ACK would add ~40 ms each.
    raw.setNoDelay(true);
    raw.setKeepAlive(true, 60_000);
    this.data = new DataChannel(
      { ports: ctx.ports, secureContext: ctx.secureContext, connectTimeoutMs: ctx.dataConnectTimeoutMs, idleTimeoutMs: ctx.dataIdleTimeoutMs },
      () => this.remoteAddress,
    );
    this.reader = new ControlReader(
      { line: (l) => this.onLine(l), overflow: () => this.send(500, 'Command line too long.') },
      (l) => /^AUTH\s/i.test(l),
    );
    this.watch(raw);
    this.reader.attach(raw);
    this.idleTimer = setTimeout(() => this.onIdle(), ctx.idleTimeoutMs);
    this.idleTimer.unref();
  }

  get user(): string {
    return this.fs ? `${this.fs.identity.account}:${this.fs.identity.user}` : '-';
  }

  /** The connection went away without QUIT: uploads in flight must not be committed. */
  get dropped(): boolean {
    return (this.peerGone || this.closed) && !this.quitRequested;
  }

  greet(): void {
    this.send(220, 'swiftgate FTP ready.');
  }

  // --------------------------------------------------------------- replies

  send(code: number, text: string | readonly string[]): void {
    if (this.closed || this.control.destroyed || !this.control.writable) return;
    this.control.write(formatReply(code, typeof text === 'string' ? [text] : text));
  }

  sendError(err: unknown, verb: string): void {
    const r = replyForError(err);
    if (r.unexpected) this.ctx.log(`ftp ${this.remoteAddress} ${this.user} ${verb}: ${(err as Error)?.message ?? String(err)}`);
    this.send(r.code, r.text);
  }

  // ------------------------------------------------------------- utilities

  requireFs(): AccountFs {
    if (!this.fs) throw reply.notLoggedIn();
    return this.fs;
  }

  resolve(arg: string): FtpPath {
    return resolvePath(this.cwd, arg);
  }

  /** The offset set by REST, consumed by the transfer command that follows. */
  takeRestOffset(): number {
    const n = this.restOffset;
    this.restOffset = 0;
    return n;
  }

  /**
   * Runs one data transfer: 150 first, then the data connection (its TLS handshake
   * runs under the transfer), then `work`, then 226. ABOR or a dropped data connection
   * end it with 426; `work` must then leave nothing behind.
   */
  async withData(
    work: (data: Duplex, signal: AbortSignal, progress: (bytes: number) => void) => Promise<void>,
    doneText = 'Transfer complete.',
  ): Promise<void> {
    const ac = new AbortController();
    let data: Duplex | undefined;
    let settle!: () => void;
    const t: Transfer = {
      aborted: false,
      bytes: 0,
      done: new Promise<void>((r) => (settle = r)),
      abort: () => {
        t.aborted = true;
        ac.abort();
        data?.destroy();
        this.data.reset();
      },
    };
    this.transfer = t;
    try {
      this.send(150, 'Opening data connection.');
      data = await this.data.open(this.protectData, ac.signal);
      if (t.aborted) throw reply.transferAborted('Transfer aborted.');
      await work(data, ac.signal, (n) => (t.bytes += n));
      this.send(226, doneText);
    } catch (err) {
      data?.destroy();
      if (t.aborted) this.send(426, 'Transfer aborted.');
      else this.sendError(err, 'transfer');
    } finally {
      this.transfer = undefined;
      this.idleTimer.refresh();
      settle();
    }
  }

  /** Called after the client half-closed the upload: only a live control connection may commit it. */
  async uploadStillWanted(): Promise<boolean> {
    // When a client dies, its data and control FINs arrive together: let the control one be read.
    await new Promise<void>((r) => setImmediate(r));
    return !this.dropped && !this.transfer?.aborted;
  }

  /** RFC 4217 AUTH: the 234 goes out in clear, then the same socket speaks TLS. */
  upgradeToTls(): void {
    const ctx = this.ctx.secureContext;
    if (!ctx || this.secure) {
      throw new FtpReply(ctx ? 503 : 502, ctx ? 'Already using TLS.' : 'TLS is not configured on this server.');
    }
    const rest = this.reader.detach();
    this.send(234, 'AUTH TLS successful.');
    const buffered: Buffer[] = [rest];
    for (let b = this.raw.read() as Buffer | null; b !== null; b = this.raw.read() as Buffer | null) buffered.push(b);
    const early = Buffer.concat(buffered);
    // A client that pipelined its ClientHello behind AUTH: replay those bytes first.
    const base: Duplex = early.length > 0 ? replayFirst(this.raw, early) : this.raw;
    const tls = new TLSSocket(base, { isServer: true, secureContext: ctx });
    this.control = tls;
    this.secure = true;
    this.pbsz = false;
    this.protectData = false;
    this.watch(tls);
    this.reader.attach(tls);
  }

  // ------------------------------------------------------------- lifecycle

  /** Ends the session; `text` is sent first (e.g. 421 on shutdown). */
  close(code?: number, text?: string): void {
    if (this.closed) return;
    if (code !== undefined && text !== undefined) this.send(code, text);
    this.closed = true;
    this.transfer?.abort();
    this.data.reset();
    clearTimeout(this.idleTimer);
    this.control.end();
    // A peer that does not close its side is cut off.
    setTimeout(() => this.destroy(), 2000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.transfer?.abort();
    this.data.reset();
    clearTimeout(this.idleTimer);
    this.control.destroy();
    this.raw.destroy();
  }

  /** Resolves once the control connection is gone. */
  whenClosed(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((r) => this.closeWaiters.push(r));
  }

  get busy(): boolean {
    return this.transfer !== undefined;
  }

  private watch(sock: Duplex): void {
    sock.on('error', () => undefined); // resets are normal; 'close' follows
    sock.on('end', () => {
      this.peerGone = true;
      // A client that hangs up without QUIT abandons its transfer; an upload must not commit.
      if (!this.quitRequested) this.transfer?.abort();
    });
    sock.on('close', () => {
      this.peerGone = true;
      if (this.finished) return;
      this.finished = true;
      this.closed = true;
      clearTimeout(this.idleTimer);
      this.transfer?.abort();
      this.data.reset();
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  private onIdle(): void {
    if (this.closed) return;
    if (this.transfer) {
      this.idleTimer.refresh();
      return;
    }
    this.close(421, 'Idle timeout: closing control connection.');
  }

  private onLine(line: string): void {
    if (this.closed) return;
    this.idleTimer.refresh();
    const verb = verbOf(line);
    const spec = this.commands.get(verb);
    if (spec?.urgent && this.transfer) {
      void this.execute(line);
      return;
    }
    this.queue.push(line);
    if (this.queue.length > MAX_QUEUED) this.reader.pause(); // a flooding client waits
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let line = this.queue.shift(); line !== undefined; line = this.queue.shift()) {
        if (this.queue.length < MAX_QUEUED / 4) this.reader.unpause();
        if (this.closed) return;
        await this.execute(line);
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(line: string): Promise<void> {
    const verb = verbOf(line);
    const arg = line.slice(verb.length).replace(/^ /, '');
    const spec = this.commands.get(verb);
    const wasSecure = this.secure;
    try {
      if (!verb) return;
      if (!spec) throw new FtpReply(502, `${verb.slice(0, 16)} not implemented.`);
      if (!spec.open && !this.fs) throw reply.notLoggedIn();
      if (verb !== 'RNTO') {
        // RNTO must come right after RNFR; anything else in between forgets it.
        if (verb !== 'RNFR') this.renameFrom = undefined;
      }
      await spec.run(this, arg);
    } catch (err) {
      this.sendError(err, verb);
    } finally {
      // The reader stopped at AUTH; if the transport did not change, go on reading in clear.
      if (verb === 'AUTH' && this.secure === wasSecure && !this.closed) this.reader.resume();
    }
  }
}

function verbOf(line: string): string {
  const m = /^\s*([A-Za-z]{1,8})/.exec(line);
  return m?.[1]?.toUpperCase() ?? '';
}

/** A duplex that yields `first` before the socket's own bytes (rare: pipelined TLS hello). */
function replayFirst(socket: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(first);
  socket.on('data', (b: Buffer) => {
    if (!d.push(b)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  return d;
}
