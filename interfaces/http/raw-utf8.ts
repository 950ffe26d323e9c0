/**
 * Request lines carrying raw UTF-8 (python's http.client sends bytes as given, and
 * Swift's own functional tests do). llhttp refuses any byte >= 0x80 in the request
 * target, even with insecureHTTPParser; Swift serves such requests.
 *
 * Only the first request of a connection can be rescued, and only when the chunk that
 * failed holds every byte the connection has sent so far: then the request line starts
 * at its first byte. We take the socket back from Node's parser (what Node itself does
 * for an upgrade), percent-encode the bytes >= 0x80 of the request target, put the
 * bytes back in front of the socket's stream and hand the socket to the HTTP server as
 * a new connection. Nothing but the target changes, so llhttp still frames the request
 * (Content-Length / Transfer-Encoding) exactly as for any other: no smuggling surface.
 * The re-fed parser reads through JS 'data' events, slower than Node's native
 * consumption, so that connection closes after its first response (and, per RFC 9112
 * 9.6, serves no request pipelined behind it); normal requests never come here.
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

type Listener = (...args: unknown[]) => void;

/** The parts of Node's (undocumented, but stable since Node 12) HTTPParser we touch. */
interface NodeParser {
  onIncoming: ((req: IncomingMessage, keepAlive: boolean) => number) | null;
}

interface ParsedSocket extends Socket {
  parser?: NodeParser | null;
  server?: Server & { maxHeaderSize?: number };
}

type FreeParser = (parser: NodeParser, req: null, socket: Socket) => void;

/** Node's own helper for detaching a parser (used by its upgrade path), if present. */
const freeParser: FreeParser | undefined = (() => {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { freeParser?: unknown };
    return typeof common.freeParser === 'function' ? (common.freeParser as FreeParser) : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * The listeners Node's connectionListener puts on a server socket (lib/_http_server.js,
 * identical in Node 20 and 22). If one is missing, Node changed: do not touch the socket.
 */
const NODE_LISTENERS: ReadonlyArray<[event: string, name: string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['timeout', 'socketOnTimeout'],
];
/** Present only while the parser consumes the socket natively. */
const CONSUME_LISTENERS: ReadonlyArray<[event: string, name: string]> = [
  ['pause', 'onSocketPause'],
  ['resume', 'onSocketResume'],
];

/** Sockets already handed back once: a second failure is answered, never re-fed. */
const rescued = new WeakSet<Socket>();

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where the request target of a request line sits: [start, end). */
function targetSpan(line: Buffer): [number, number] | undefined {
  const sp1 = line.indexOf(0x20);
  if (sp1 === -1) return undefined;
  let end = line.indexOf(0x20, sp1 + 1);
  if (end === -1) end = line.length;
  return [sp1 + 1, end];
}

/** The first line without its CR LF (or the whole packet if it has none yet). */
function firstLine(packet: Buffer): Buffer {
  const lf = packet.indexOf(0x0a);
  const end = lf === -1 ? packet.length : lf > 0 && packet[lf - 1] === 0x0d ? lf - 1 : lf;
  return packet.subarray(0, end);
}

/** The request target of a raw request line is valid UTF-8 without NUL once percent-decoded. */
export function targetIsCleanUtf8(packet: Buffer): boolean {
  const line = firstLine(packet);
  const span = targetSpan(line);
  if (!span) return true;
  const target = line.subarray(span[0], span[1]);
  const bytes: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const b = target[i] as number;
    if (b === 0x3f) break; // query string
    if (b === 0x25 && i + 2 < target.length) {
      const hex = String.fromCharCode(target[i + 1] as number, target[i + 2] as number);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    bytes.push(b);
  }
  if (bytes.includes(0)) return false;
  try {
    utf8.decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

function hasHighByte(buf: Buffer): boolean {
  for (const b of buf) if (b >= 0x80) return true;
  return false;
}

/** The packet with every byte >= 0x80 of the first line's request target as %XX; nothing else changes. */
export function percentEncodeTarget(packet: Buffer): Buffer {
  const span = targetSpan(firstLine(packet));
  if (!span) return packet;
  const [start, end] = span;
  const parts: Buffer[] = [packet.subarray(0, start)];
  let from = start;
  for (let i = start; i < end; i++) {
    const b = packet[i] as number;
    if (b < 0x80) continue;
    parts.push(packet.subarray(from, i), Buffer.from(`%${b.toString(16).toUpperCase()}`, 'latin1'));
    from = i + 1;
  }
  parts.push(packet.subarray(from));
  return Buffer.concat(parts);
}

function nodeListener(socket: Socket, event: string, name: string): Listener | undefined {
  const found = socket.listeners(event).filter((f) => f.name === name);
  return found.length === 1 ? (found[0] as Listener) : undefined;
}

export interface RescueCallbacks {
  /** Answer with this status and close (the request line turned out bad after all). */
  refuse(socket: Socket, status: 400 | 412): void;
}

/**
 * Takes over the socket of a first request refused only for raw bytes >= 0x80 in its
 * target and re-feeds it encoded. Returns false (socket untouched) when that cannot be
 * done safely; the caller then answers the error itself.
 */
export function rescueRawUtf8(err: Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number }, rawSocket: Socket, cb: RescueCallbacks): boolean {
  const socket = rawSocket as ParsedSocket;
  const packet = err.rawPacket;
  const server = socket.server;
  const parser = socket.parser;
  if (err.code !== 'HPE_INVALID_URL' || !Buffer.isBuffer(packet) || !server || !parser || !freeParser) return false;
  if (rescued.has(socket) || socket.destroyed) return false;
  // The failing chunk must be all the connection sent so far, and nothing answered yet:
  // then it starts with the request line of the connection's first request.
  if (socket.bytesRead !== packet.length || socket.bytesWritten !== 0) return false;
  const lf = packet.indexOf(0x0a);
  if (lf !== -1 && typeof err.bytesParsed === 'number' && err.bytesParsed > lf) return false;
  const line = firstLine(packet);
  const span = targetSpan(line);
  if (!span || !hasHighByte(line.subarray(span[0], span[1]))) return false;
  // A complete line that is not clean UTF-8 is the caller's 412.
  if (lf !== -1 && !targetIsCleanUtf8(packet)) return false;

  const ours = NODE_LISTENERS.map(([ev, name]) => [ev, nodeListener(socket, ev, name)] as const);
  const consumed = CONSUME_LISTENERS.map(([ev, name]) => [ev, nodeListener(socket, ev, name)] as const);
  if (ours.some(([, fn]) => !fn)) return false;
  if (consumed.some(([, fn]) => !fn) && consumed.some(([, fn]) => fn)) return false;

  // Detach Node's parser exactly as its upgrade path does; the socket now emits 'data'.
  for (const [ev, fn] of [...ours, ...consumed]) if (fn) socket.removeListener(ev, fn);
  freeParser(parser, null, socket);
  socket.pause();
  rescued.add(socket);

  const handOver = (bytes: Buffer): void => {
    if (socket.destroyed) return;
    if (!targetIsCleanUtf8(bytes)) {
      cb.refuse(socket, 412);
      return;
    }
    socket.unshift(percentEncodeTarget(bytes));
    server.emit('connection', socket);
    const fresh = socket.parser;
    const onIncoming = fresh?.onIncoming;
    if (!fresh || !onIncoming) {
      socket.destroy();
      return;
    }
    let first = true;
    fresh.onIncoming = (req, _keepAlive) => {
      if (first) {
        first = false;
        // Close after this response and say so: answers name the connection only when
        // the request did (response.ts), so the request is taken as having asked.
        req.headers.connection = 'close';
        return onIncoming(req, false);
      }
      // Pipelined behind a response that closes the connection: not served (the client
      // retries it on a new connection); its body is read and dropped.
      req.on('error', () => undefined);
      req.resume();
      return 0;
    };
    socket.resume();
  };

  if (lf !== -1) {
    // Let Node's parser callback unwind before its parser is reused.
    setImmediate(handOver, packet);
    return true;
  }
  // The request line goes on in later chunks: gather it (bounded) before handing over.
  const limit = server.maxHeaderSize || 16 * 1024;
  const chunks: Buffer[] = [packet];
  let size = packet.length;
  const timer = setTimeout(() => socket.destroy(), server.headersTimeout || 60_000);
  const done = (): void => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', done);
  };
  const onEnd = (): void => {
    done();
    socket.destroy(); // the client stopped mid request line
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (chunk.includes(0x0a)) {
      done();
      socket.pause();
      handOver(Buffer.concat(chunks, size));
    } else if (size > limit) {
      done();
      socket.pause();
      cb.refuse(socket, 400);
    }
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', done);
  socket.resume();
  return true;
}
