/**
 * Requests Node's HTTP parser refuses before any handler runs. Swift answers some of
 * them differently (unknown methods → 405, undecodable paths → 412), and a parse
 * error after a response is already under way (a body sent without Content-Length)
 * must not cut that response short.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { defaultBody } from './errors.ts';
import { newTransId } from './response.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function rawResponse(socket: Socket, status: number, reason: string, body: string, extra: string[] = []): void {
  const trans = newTransId();
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    `Content-Type: ${status === 412 && body.startsWith('Invalid') ? 'text/plain' : 'text/html; charset=UTF-8'}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extra,
    `X-Trans-Id: ${trans}`,
    `X-Openstack-Request-Id: ${trans}`,
    `Date: ${new Date().toUTCString()}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** The request target of a raw request line is valid UTF-8 without NUL once percent-decoded. */
function targetIsCleanUtf8(packet: Buffer): boolean {
  const eol = packet.indexOf('\r\n');
  const line = packet.subarray(0, eol === -1 ? packet.length : eol);
  const sp1 = line.indexOf(0x20);
  const sp2 = line.lastIndexOf(0x20);
  if (sp1 === -1 || sp2 <= sp1) return true;
  const target = line.subarray(sp1 + 1, sp2);
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

export function clientErrorHandler(error: Error, socket: Socket): void {
  const err = error as Error & { code?: string; rawPacket?: Buffer };
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const inflight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inflight && !inflight.writableFinished) {
    // The client went away mid-request: drop the socket, which aborts any upload.
    if (err.code === 'HPE_INVALID_EOF_STATE' || socket.readableEnded) {
      socket.destroy();
      return;
    }
    // Malformed bytes during or after a request (bad chunking, a body without length):
    // let the answer already being prepared go out (Swift's 411/501), then close. If it
    // does not come soon, the handler is waiting for body bytes that never will: drop it.
    inflight.shouldKeepAlive = false;
    const timer = setTimeout(() => socket.destroy(), 1000);
    inflight.once('finish', () => {
      clearTimeout(timer);
      socket.end();
    });
    inflight.once('close', () => {
      clearTimeout(timer);
      socket.destroy();
    });
    return;
  }
  switch (err.code) {
    case 'HPE_INVALID_METHOD':
      rawResponse(socket, 405, 'Method Not Allowed', defaultBody(405), ['Allow: COPY, DELETE, GET, HEAD, OPTIONS, POST, PUT']);
      return;
    case 'HPE_INVALID_URL':
      if (err.rawPacket && !targetIsCleanUtf8(err.rawPacket)) {
        rawResponse(socket, 412, 'Precondition Failed', 'Invalid UTF8 or contains NULL');
        return;
      }
      rawResponse(socket, 400, 'Bad Request', defaultBody(400));
      return;
    case 'HPE_HEADER_OVERFLOW':
      rawResponse(socket, 431, 'Request Header Fields Too Large', '');
      return;
    default:
      rawResponse(socket, 400, 'Bad Request', defaultBody(400));
  }
}
