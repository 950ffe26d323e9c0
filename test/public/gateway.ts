/**
 * A real gateway (startGateway, random port, temp data dir) for the public URL views,
 * and a client that can send any Host header (fetch cannot) over kept-alive sockets.
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, defaultConfig } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/server.ts';

export const STORAGE_DOMAIN = 'storage.example.net';

export interface PublicGateway {
  url: string;
  port: number;
  gateway: Gateway;
  close(): Promise<void>;
}

export async function startPublicGateway(tweak: (c: Config) => void = () => undefined): Promise<PublicGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'swiftgate-public-'));
  const config = defaultConfig();
  config.dataDir = dataDir;
  config.http.host = '127.0.0.1';
  config.http.port = 0;
  config.http.workers = 1;
  config.ftp.enabled = false;
  config.domains.storageDomain = STORAGE_DOMAIN;
  tweak(config);
  const gateway = await startGateway(config, { quiet: true });
  const users = [
    { account: 'test', user: 'tester', key: 'testing', admin: true },
    { account: 'test', user: 'tester3', key: 'testing3' },
    { account: 'test2', user: 'tester2', key: 'testing2', admin: true },
    { account: 'admin', user: 'admin', key: 'admin', admin: true, resellerAdmin: true },
  ];
  for (const u of users) await gateway.core.users.addUser({ ...u, replace: true });
  const url = gateway.httpUrl ?? '';
  return {
    url,
    port: Number(new URL(url).port),
    gateway,
    async close() {
      agent.destroy();
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Any method, path sent verbatim, any Host. */
export function call(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Host: '127.0.0.1', ...headers }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.end(body);
  });
}

export async function login(port: number, user: string, key: string): Promise<{ token: string; path: string }> {
  const r = await call(port, 'GET', '/auth/v1.0', { 'X-Auth-User': user, 'X-Auth-Key': key });
  if (r.status !== 200) throw new Error(`login ${user}: ${r.status}`);
  return { token: String(r.headers['x-auth-token']), path: new URL(String(r.headers['x-storage-url'])).pathname };
}

/** An authenticated API client for one user. */
export async function apiClient(port: number, user: string, key: string) {
  const { token, path } = await login(port, user, key);
  return {
    token,
    path,
    req: (method: string, sub: string, headers: Record<string, string> = {}, body?: string | Buffer) =>
      call(port, method, `${path}${sub}`, { 'X-Auth-Token': token, ...headers }, body),
  };
}
