/** A minimal FTP client on node:net for protocol-level tests (replies, drops, aborts). */
import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  text: string;
}

export class RawFtp {
  private buf = '';
  private lines: string[] = [];
  private readonly replies: Reply[] = [];
  private waiters: Array<(r: Reply) => void> = [];
  closed = false;

  private constructor(readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d.toString('utf8')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w({ code: 0, text: 'closed' });
    });
  }

  static async open(port: number): Promise<RawFtp> {
    const sock = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    const c = new RawFtp(sock);
    await c.next();
    return c;
  }

  static async login(port: number, user: string, key: string): Promise<RawFtp> {
    const c = await RawFtp.open(port);
    await c.cmd(`USER ${user}`);
    const r = await c.cmd(`PASS ${key}`);
    if (r.code !== 230) throw new Error(`login failed: ${r.code} ${r.text}`);
    return c;
  }

  private onData(s: string): void {
    this.buf += s;
    for (let i = this.buf.indexOf('\r\n'); i >= 0; i = this.buf.indexOf('\r\n')) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.lines.push(line);
      const m = /^(\d{3})([ -])/.exec(line);
      if (m && m[2] === ' ') {
        const r = { code: Number(m[1]), text: this.lines.join('\n') };
        this.lines = [];
        const w = this.waiters.shift();
        if (w) w(r);
        else this.replies.push(r);
      }
    }
  }

  next(timeoutMs = 15_000): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.closed) return Promise.resolve({ code: 0, text: 'closed' });
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  cmd(line: string): Promise<Reply> {
    this.sock.write(`${line}\r\n`);
    return this.next();
  }

  /** EPSV and connect; the returned socket is the data connection. */
  async dataConnection(): Promise<Socket> {
    const r = await this.cmd('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (!m) throw new Error(`EPSV failed: ${r.code} ${r.text}`);
    const s = connect({ port: Number(m[1]), host: '127.0.0.1' });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    return s;
  }

  /** A data command whose output is read to the end: LIST, NLST, MLSD, RETR. */
  async read(line: string): Promise<{ first: Reply; last?: Reply; data: Buffer }> {
    const data = await this.dataConnection();
    const chunks: Buffer[] = [];
    data.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => data.once('close', () => r()));
    const first = await this.cmd(line);
    if (first.code !== 150) {
      data.destroy();
      return { first, data: Buffer.alloc(0) };
    }
    await ended;
    const last = await this.next();
    return { first, last, data: Buffer.concat(chunks) };
  }

  /** STOR/APPE of `body`. */
  async write(line: string, body: Buffer): Promise<{ first: Reply; last?: Reply }> {
    const data = await this.dataConnection();
    const first = await this.cmd(line);
    if (first.code !== 150) {
      data.destroy();
      return { first };
    }
    data.end(body);
    return { first, last: await this.next() };
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.cmd('QUIT').catch(() => undefined);
    this.sock.destroy();
  }
}
