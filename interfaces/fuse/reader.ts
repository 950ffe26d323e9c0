/**
 * Ranged reads of one object for one open handle. The kernel reads a file in 128 KiB
 * pieces: one stream opened at the first offset serves a sequential read to the end;
 * a small forward jump (read-ahead requests arriving out of order) is skipped over, and
 * any other seek re-opens the stream at the new offset.
 */
import type { Readable } from 'node:stream';
import type { Namespace } from '../../src/core/namespace.ts';
import type { ObjectRecord } from '../../src/core/types.ts';

/** Forward gaps up to this are read and dropped rather than re-opening. */
const MAX_SKIP = 1024 * 1024;

class Cursor {
  position: number;
  private readonly stream: Readable;
  private readonly it: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;

  constructor(stream: Readable, start: number) {
    this.stream = stream;
    this.position = start;
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Copies up to `len` bytes into `buf` (or drops them when `buf` is undefined). */
  async take(buf: Buffer | undefined, len: number): Promise<number> {
    let n = 0;
    while (n < len) {
      if (!this.rest || this.rest.length === 0) {
        const r = await this.it.next();
        if (r.done) break;
        this.rest = r.value;
      }
      const k = Math.min(len - n, this.rest.length);
      if (buf) this.rest.copy(buf, n, 0, k);
      this.rest = this.rest.subarray(k);
      n += k;
    }
    this.position += n;
    return n;
  }

  close(): void {
    this.stream.destroy();
  }
}

export class ObjectReader {
  private record: ObjectRecord;
  private readonly ns: Namespace;
  private cursor: Cursor | undefined;
  /** Reads of one handle run one at a time: they share the cursor. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ns: Namespace, record: ObjectRecord) {
    this.ns = ns;
    this.record = record;
  }

  get size(): number {
    return this.record.size;
  }

  read(buf: Buffer, len: number, pos: number): Promise<number> {
    const run = this.chain.then(() => this.readNow(buf, len, pos));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async readNow(buf: Buffer, len: number, pos: number): Promise<number> {
    if (pos >= this.record.size || len === 0) return 0;
    const want = Math.min(len, this.record.size - pos);
    let c = this.cursor;
    if (c && pos > c.position && pos - c.position <= MAX_SKIP) await c.take(undefined, pos - c.position);
    if (!c || c.position !== pos) {
      c?.close();
      const opened = await this.ns.openObject(this.record, { start: pos, end: this.record.size - 1 });
      this.record = opened.record;
      c = this.cursor = new Cursor(opened.stream, pos);
    }
    try {
      return await c.take(buf, want);
    } catch (err) {
      c.close();
      this.cursor = undefined;
      throw err;
    }
  }

  close(): void {
    this.cursor?.close();
    this.cursor = undefined;
  }
}
