/** Small helpers for talking to the test gateway with plain fetch. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { login } from './harness.ts';

export interface Session {
  token: string;
  storageUrl: string;
  req(method: string, path: string, init?: { headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Response>;
}

export async function session(url: string, user: string, key: string): Promise<Session> {
  const { token, storageUrl } = await login(url, user, key);
  return {
    token,
    storageUrl,
    req: (method, path, init = {}) =>
      fetch(`${storageUrl}${path}`, {
        method,
        headers: { 'X-Auth-Token': token, ...(init.headers ?? {}) },
        // Bytes, not a string: fetch would add its own text/plain Content-Type.
        ...(init.body !== undefined ? { body: new Uint8Array(typeof init.body === 'string' ? Buffer.from(init.body) : init.body) as Uint8Array<ArrayBuffer> } : {}),
      }),
  };
}

/** A request with the path sent exactly as given (fetch would normalize `..`). */
export function rawRequest(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes and returns everything the server sent back until it closed. */
export function rawExchange(url: string, data: string | Buffer): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname, () => sock.write(data));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
    sock.setTimeout(5000, () => sock.destroy());
  });
}
