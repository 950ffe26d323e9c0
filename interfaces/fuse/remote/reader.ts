/**
 * Reads of one open remote file through a read-ahead window: each miss fetches
 * [pos, pos + window) with one ranged GET (never the whole object for a small read),
 * and a sequential reader gets the next window fetched while it consumes this one; the
 * window doubles while reading stays sequential (up to MAX_GROWTH times), so a big
 * file costs few requests.
 * GETs carry If-Match with the ETag the file was opened at; if the object was replaced
 * meanwhile (412) the reader moves to the new version, as local mode does.
 */
import type { FileReader, StoreObject } from '../backend.ts';
import { Errno, fsError } from '../errno.ts';

/** A sequential reader's window grows up to this many times the configured one. */
const MAX_GROWTH = 8;

interface Window {
  start: number;
  data: Buffer;
}

export interface RangeSource {
  getRange(container: string, name: string, etag: string, start: number, end: number): Promise<{ status: number; body: Buffer }>;
  getObject(container: string, name: string): Promise<StoreObject | undefined>;
}

export class RangeReader implements FileReader {
  private obj: StoreObject;
  private readonly src: RangeSource;
  private readonly container: string;
  private readonly window: number;
  /** The current fetch size: `window`, doubled per sequential window. */
  private span: number;
  private current: Window | undefined;
  private ahead: { start: number; data: Promise<Buffer> } | undefined;
  /** Reads of one handle run one at a time: they share the window. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(src: RangeSource, container: string, obj: StoreObject, window: number) {
    this.src = src;
    this.container = container;
    this.obj = obj;
    this.window = Math.max(64 * 1024, window);
    this.span = this.window;
  }

  read(buf: Buffer, len: number, pos: number): Promise<number> {
    const run = this.chain.then(() => this.readNow(buf, len, pos));
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closed = true;
    this.current = undefined;
    this.ahead?.data.catch(() => undefined);
    this.ahead = undefined;
  }

  private async readNow(buf: Buffer, len: number, pos: number): Promise<number> {
    let n = 0;
    while (n < len && pos + n < this.obj.size) {
      const w = await this.windowAt(pos + n);
      const off = pos + n - w.start;
      if (off >= w.data.length) break; // the object shrank under us
      n += w.data.copy(buf, n, off, Math.min(w.data.length, off + len - n));
    }
    this.prefetch(pos + n);
    return n;
  }

  private async windowAt(pos: number): Promise<Window> {
    const cur = this.current;
    if (cur && pos >= cur.start && pos < cur.start + cur.data.length) return cur;
    const ahead = this.ahead;
    if (ahead && pos >= ahead.start && pos < ahead.start + this.span) {
      this.ahead = undefined;
      try {
        const w = { start: ahead.start, data: await ahead.data };
        if (pos < w.start + w.data.length) return (this.current = w);
      } catch {
        // Fetch it again below; a lasting failure surfaces there.
      }
    }
    // A jump elsewhere starts small again: a random reader fetches one window per read.
    this.span = cur && pos === cur.start + cur.data.length ? this.span : this.window;
    this.ahead = undefined;
    return (this.current = { start: pos, data: await this.fetch(pos) });
  }

  /** Half way through a window, the next one is fetched. */
  private prefetch(pos: number): void {
    const cur = this.current;
    if (this.closed || !cur || this.ahead) return;
    const next = cur.start + cur.data.length;
    if (next >= this.obj.size || pos < cur.start + cur.data.length / 2) return;
    this.span = Math.min(this.span * 2, this.window * MAX_GROWTH);
    const data = this.fetch(next);
    data.catch(() => undefined);
    this.ahead = { start: next, data };
  }

  private async fetch(start: number): Promise<Buffer> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const end = Math.min(start + this.span, this.obj.size) - 1;
      if (end < start) return Buffer.alloc(0);
      const r = await this.src.getRange(this.container, this.obj.name, this.obj.etag, start, end);
      if (r.status === 416) return Buffer.alloc(0);
      if (r.status !== 412) return r.body;
      const fresh = await this.src.getObject(this.container, this.obj.name);
      if (!fresh) throw fsError(Errno.ENOENT, `${this.obj.name} was deleted`);
      this.obj = fresh;
      this.ahead = undefined;
    }
    throw fsError(Errno.EIO, `${this.obj.name} keeps changing`);
  }
}
