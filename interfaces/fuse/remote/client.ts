/**
 * A small Swift HTTP client for remote mounts, on node:http/https with keep-alive
 * sockets (no dependency). Auth v1.0 (X-Auth-User/X-Auth-Key → X-Auth-Token +
 * X-Storage-Url) or a given token; a 401 re-authenticates once and retries. Every request
 * has an idle timeout, so nothing hangs: a silent server becomes an error (EIO). A request
 * that fails on a reused keep-alive socket (the server closed it meanwhile) is retried
 * once; bodies are factories so they can be sent again.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RemoteError } from './errors.ts';

export type RemoteAuth =
  | { kind: 'password'; authUrl: string; user: string; key: string }
  | { kind: 'token'; token: string; storageUrl: string };

export interface ClientOptions {
  auth: RemoteAuth;
  /** Idle timeout per request, ms: no byte moved for this long fails it. */
  timeoutMs?: number;
  maxSockets?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Called once per attempt. */
  body?: () => Buffer | Readable;
  /** Statuses that are answers, not errors (default: any 2xx). */
  ok?: readonly number[];
}

export interface BufferedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Bodies we read into memory (listings, error texts) stay below this. */
const MAX_BUFFERED = 64 * 1024 * 1024;

/** An object or container path below the storage URL, each segment encoded. */
export function swiftPath(container: string, name?: string): string {
  const c = `/${encodeURIComponent(container)}`;
  return name === undefined ? c : `${c}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

/** `http://host:port` or `…/auth/v1.0` → the v1.0 auth URL. */
export function authUrlOf(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/(auth\/v1\.0|auth\/v1|v1\.0)$/.test(u) ? u : `${u}/auth/v1.0`;
}

export class SwiftClient {
  private readonly auth: RemoteAuth;
  private readonly timeoutMs: number;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private token = '';
  private storage: URL | undefined;
  private reauth: Promise<void> | undefined;

  constructor(opts: ClientOptions) {
    this.auth = opts.auth;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    // noDelay: a PUT writes headers and body separately; Nagle would hold the body back.
    const agentOpts = { keepAlive: true, noDelay: true, maxSockets: opts.maxSockets ?? 16, keepAliveMsecs: 10_000 };
    this.agents = { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };
    if (opts.auth.kind === 'token') {
      this.token = opts.auth.token;
      this.storage = new URL(opts.auth.storageUrl.replace(/\/+$/, ''));
    }
  }

  get storageUrl(): string {
    return this.storage?.href ?? '';
  }

  /** Gets a token (password auth); a no-op with a given token. */
  async authenticate(): Promise<void> {
    if (this.auth.kind === 'token') return;
    const url = new URL(this.auth.authUrl);
    const res = await this.send('GET', url, { 'x-auth-user': this.auth.user, 'x-auth-key': this.auth.key });
    const body = await readBody(res, 4096);
    if (res.statusCode !== 200 && res.statusCode !== 204) throw new RemoteError(res.statusCode ?? 0, `authentication at ${url.href} failed: ${res.statusCode}`, body.toString('utf8'));
    const token = header(res.headers, 'x-auth-token') ?? header(res.headers, 'x-storage-token');
    const storage = header(res.headers, 'x-storage-url');
    if (!token || !storage) throw new RemoteError(0, `authentication at ${url.href}: no X-Auth-Token / X-Storage-Url in the answer`);
    this.token = token;
    this.storage = new URL(storage.replace(/\/+$/, ''));
  }

  /** A request whose answer is read into memory. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<BufferedResponse> {
    const res = await this.stream(method, path, opts);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(res, MAX_BUFFERED) };
  }

  /** A request whose answer body is left to the caller (it must consume or destroy it). */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    let reauthed = false;
    for (let attempt = 0; ; attempt++) {
      const token = this.token;
      const url = this.url(path, opts.query);
      let res: IncomingMessage;
      try {
        res = await this.send(method, url, { ...opts.headers, 'x-auth-token': token }, opts.body?.());
      } catch (err) {
        if (attempt === 0 && isRetryable(err)) continue;
        throw err instanceof RemoteError ? err : new RemoteError(0, `${method} ${path}: ${(err as Error).message}`);
      }
      const status = res.statusCode ?? 0;
      if (status === 401 && !reauthed && this.auth.kind === 'password') {
        res.resume();
        reauthed = true;
        // Concurrent requests share one re-authentication; a token renewed meanwhile is just reused.
        if (this.token === token) {
          this.reauth ??= this.authenticate().finally(() => (this.reauth = undefined));
          await this.reauth;
        }
        continue;
      }
      const ok = opts.ok ? opts.ok.includes(status) : status >= 200 && status < 300;
      if (!ok) {
        const body = (await readBody(res, 4096).catch(() => Buffer.alloc(0))).toString('utf8');
        throw new RemoteError(status, `${method} ${decodeURI(path) || '/'}: ${status} ${res.statusMessage ?? ''}`.trim(), body);
      }
      return res;
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private url(path: string, query?: RequestOptions['query']): URL {
    if (!this.storage) throw new RemoteError(0, 'not authenticated');
    const q = Object.entries(query ?? {})
      .filter((e): e is [string, string | number] => e[1] !== undefined)
      // encodeURIComponent, not URLSearchParams: a space must be %20, not '+'.
      .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
      .join('&');
    return new URL(`${this.storage.href}${path}${q ? `?${q}` : ''}`);
  }

  private send(method: string, url: URL, headers: Record<string, string>, body?: Buffer | Readable): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    const mod = secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: secure ? this.agents.https : this.agents.http }, (res) => {
        // The idle timeout also guards the body: a stalled download fails its reader.
        res.socket?.setTimeout(this.timeoutMs);
        resolve(res);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new RemoteError(0, `${method} ${url.pathname}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: Error & { reusedSocket?: boolean }) => {
        (err as { reusedSocket?: boolean }).reusedSocket = req.reusedSocket;
        reject(err);
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else pipeline(body, req).catch((err: Error) => req.destroy(err));
    });
  }
}

/** A keep-alive socket the server had closed: the request never reached it. */
function isRetryable(err: unknown): boolean {
  const e = err as { code?: string; reusedSocket?: boolean };
  return e.reusedSocket === true && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

async function readBody(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new RemoteError(0, `answer larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
