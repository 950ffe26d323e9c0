/**
 * Requests Node's HTTP parser refuses before any handler runs. Swift answers some of
 * them differently (unknown methods → 405, undecodable paths → 412, raw UTF-8 paths
 * are served), and a parse error after a response is already under way (a body sent
 * without Content-Length) must not cut that response short.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { defaultBody } from './errors.ts';
import { rescueRawUtf8, targetIsCleanUtf8 } from './raw-utf8.ts';
import { newTransId } from './response.ts';

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

function refuseUrl(socket: Socket, status: 400 | 412): void {
  if (status === 412) rawResponse(socket, 412, 'Precondition Failed', 'Invalid UTF8 or contains NULL');
  else rawResponse(socket, 400, 'Bad Request', defaultBody(400));
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
      // Raw UTF-8 in the first request line: served as if percent-encoded (raw-utf8.ts).
      if (rescueRawUtf8(err, socket, { refuse: refuseUrl })) return;
      refuseUrl(socket, err.rawPacket && !targetIsCleanUtf8(err.rawPacket) ? 412 : 400);
      return;
    case 'HPE_HEADER_OVERFLOW':
      rawResponse(socket, 431, 'Request Header Fields Too Large', '');
      return;
    default:
      rawResponse(socket, 400, 'Bad Request', defaultBody(400));
  }
}
