/**
 * Length-prefixed frames of v8-serialized values over a stream socket. Structured
 * clone (not JSON) so Maps, undefined and typed values cross processes unchanged.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

export function writeFrame(socket: Socket, value: unknown): void {
  const body = serialize(value);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  socket.write(Buffer.concat([head, body]));
}

/** Calls `onFrame` for every complete frame read from `socket`. */
export function readFrames(socket: Socket, onFrame: (value: unknown) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const len = buffered.readUInt32BE(0);
      if (buffered.length < 4 + len) break;
      const body = buffered.subarray(4, 4 + len);
      buffered = buffered.subarray(4 + len);
      onFrame(deserialize(body));
    }
  });
}
