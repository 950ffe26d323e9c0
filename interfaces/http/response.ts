/**
 * Writing responses straight to the socket (after reply.hijack()): Swift's header names
 * and casing, the transaction id on every response, and no per-request framework work.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { sendStream as sendToSocket } from '../../src/core/send-stream.ts';

/** Header name → value, names already in the casing Swift sends. */
export type HeaderList = Array<[string, string]>;

// Swift: 'tx' + uuid4().hex[:21] + '-' + '%010x' % time. A per-process random head and
// a counter keep ids unique without drawing randomness on every request.
const TX_HEAD = randomBytes(6).toString('hex').slice(0, 11);
let txCounter = Math.floor(Math.random() * 0xffffffff);

export function newTransId(): string {
  txCounter = (txCounter + 1) % 0xffffffffff;
  const seconds = Math.floor(Date.now() / 1000);
  return `tx${TX_HEAD}${txCounter.toString(16).padStart(10, '0')}-${seconds.toString(16).padStart(10, '0')}`;
}

/** Header values are bytes on the wire: UTF-8 text goes out as its latin1 view. */
export function headerValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/** Decodes a request header value (latin1 view of bytes) as UTF-8 text. */
export function headerText(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Not UTF-8 (Swift keeps such object metadata as bytes): keep what decodes, drop the
    // rest, so the value never grows past the limits the client respected.
    return bytes.toString('utf8').replace(/\ufffd/g, '');
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Per-response additions decided before the handler runs (CORS). */
type Decorator = (headers: HeaderList, res: ServerResponse) => void;
const decorators = new WeakMap<ServerResponse, Decorator>();

export function setResponseDecorator(res: ServerResponse, d: Decorator): void {
  decorators.set(res, d);
}

function head(res: ServerResponse, status: number, headers: HeaderList, transId: string): void {
  decorators.get(res)?.(headers, res);
  const flat: string[] = [];
  // Like Swift (eventlet), name the connection only when the client did.
  const conn = res.req?.headers.connection;
  if (headers.some(([k, v]) => k === 'Connection' && v === 'close')) res.shouldKeepAlive = false;
  else if (conn === undefined) res.removeHeader('Connection');
  else if (/keep-alive/i.test(conn)) flat.push('Connection', 'keep-alive');
  else if (/close/i.test(conn)) flat.push('Connection', 'close');
  else res.removeHeader('Connection');
  for (const [k, v] of headers) flat.push(k, v);
  flat.push('X-Trans-Id', transId, 'X-Openstack-Request-Id', transId);
  try {
    res.writeHead(status, flat);
  } catch {
    // A value Node refuses (control characters): never let one header take the process down.
    for (let i = 1; i < flat.length; i += 2) flat[i] = (flat[i] as string).replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
    res.writeHead(status, flat);
  }
}

/** Sends a complete response with an in-memory body (or none). */
export function sendBody(res: ServerResponse, transId: string, status: number, headers: HeaderList, body?: string | Buffer, isHead = false): void {
  if (res.headersSent || res.destroyed) return;
  const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (!headers.some(([k]) => k === 'Content-Length')) headers.push(['Content-Length', String(buf ? buf.length : 0)]);
  head(res, status, headers, transId);
  if (buf && buf.length > 0 && !isHead && status !== 204 && status !== 304) res.end(buf);
  else res.end();
}

/** Sends headers then streams `body`; resolves when done or when the client went away. */
export async function sendStream(res: ServerResponse, transId: string, status: number, headers: HeaderList, body: Readable): Promise<void> {
  head(res, status, headers, transId);
  try {
    await sendToSocket(body, res);
  } catch {
    // The client disconnected or the blob read failed mid-way: nothing more can be said.
    body.destroy();
    res.destroy();
  }
}

/** Sends headers, then parts in order (strings or streams), for multipart/byteranges. */
export async function sendParts(
  res: ServerResponse,
  transId: string,
  status: number,
  headers: HeaderList,
  parts: Array<string | (() => Promise<Readable>)>,
): Promise<void> {
  head(res, status, headers, transId);
  try {
    for (const part of parts) {
      if (typeof part === 'string') {
        if (!res.write(part)) await onceDrain(res);
        continue;
      }
      const stream = await part();
      for await (const chunk of stream) if (!res.write(chunk as Buffer)) await onceDrain(res);
    }
    res.end();
  } catch {
    res.destroy();
  }
}

function onceDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('client went away'));
    };
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
