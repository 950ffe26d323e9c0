/**
 * Control-channel bytes → command lines. Strips Telnet IAC sequences (clients send
 * IAC IP / IAC DM before ABOR), accepts CRLF or bare LF, decodes UTF-8 (Latin-1 for
 * clients that send legacy bytes), bounds line length, and stops dead after a line
 * that will change the transport (AUTH), so not one TLS byte is read as a command.
 */
import type { Duplex } from 'node:stream';

const IAC = 0xff;
const MAX_LINE = 8192;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface ReaderEvents {
  line(text: string): void;
  /** A line longer than the limit was discarded. */
  overflow(): void;
}

export class ControlReader {
  private buf: Buffer = Buffer.alloc(0);
  private socket: Duplex | undefined;
  private held = false;
  private discarding = false;

  constructor(
    private readonly events: ReaderEvents,
    /** Lines after which reading stops until resume() or detach(). */
    private readonly barrier: (line: string) => boolean,
  ) {}

  attach(socket: Duplex): void {
    this.socket = socket;
    socket.on('data', this.onData);
  }

  /** Stops reading and hands back the bytes received after the barrier line. */
  detach(): Buffer {
    this.socket?.off('data', this.onData);
    this.socket?.pause();
    this.socket = undefined;
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    this.held = false;
    return rest;
  }

  /** After a barrier that did not change the transport (e.g. AUTH refused). */
  resume(): void {
    this.held = false;
    this.socket?.resume();
    this.drain();
  }

  pause(): void {
    this.socket?.pause();
  }

  unpause(): void {
    if (!this.held) this.socket?.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain();
  };

  private drain(): void {
    while (!this.held) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_LINE) {
          this.buf = Buffer.alloc(0);
          if (!this.discarding) this.events.overflow();
          this.discarding = true;
        }
        return;
      }
      const raw = this.buf.subarray(0, nl);
      this.buf = this.buf.subarray(nl + 1);
      if (this.discarding || raw.length > MAX_LINE) {
        if (!this.discarding) this.events.overflow();
        this.discarding = false;
        continue;
      }
      const line = decode(stripTelnet(raw));
      if (this.barrier(line)) {
        this.held = true;
        this.socket?.pause();
      }
      this.events.line(line);
    }
  }
}

/** Removes IAC commands (RFC 854); IAC IAC stands for a literal 0xFF. Drops a trailing CR. */
export function stripTelnet(raw: Buffer): Buffer {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  if (raw.indexOf(IAC) < 0 || raw.indexOf(IAC) >= end) return raw.subarray(0, end);
  const out: number[] = [];
  for (let i = 0; i < end; i++) {
    const b = raw[i] ?? 0;
    if (b !== IAC) {
      out.push(b);
      continue;
    }
    const cmd = raw[i + 1];
    if (cmd === IAC) out.push(IAC);
    // WILL/WONT/DO/DONT carry an option byte.
    i += cmd !== undefined && cmd >= 251 && cmd <= 254 ? 2 : 1;
  }
  return Buffer.from(out);
}

function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
