/**
 * A real gateway in-process on a random port over a fresh temp data dir, with the
 * users Swift's functional tests log in as.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEnv, defaultConfig } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/server.ts';

export interface TestUser {
  account: string;
  user: string;
  key: string;
  admin?: boolean;
  resellerAdmin?: boolean;
  groups?: string[];
}

export const TEST_USERS: TestUser[] = [
  { account: 'test', user: 'tester', key: 'testing', admin: true },
  { account: 'test', user: 'tester2', key: 'testing2', admin: true },
  { account: 'test', user: 'tester3', key: 'testing3' },
  { account: 'test2', user: 'tester2', key: 'testing2', admin: true },
  { account: 'test5', user: 'tester5', key: 'testing5', groups: ['service'] },
  { account: 'admin', user: 'admin', key: 'admin', admin: true, resellerAdmin: true },
];

export interface Harness {
  url: string;
  port: number;
  gateway: Gateway;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHarness(opts: { port?: number; dataDir?: string; users?: TestUser[] } = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'swiftgate-http-')));
  const config = defaultConfig();
  applyEnv(config, process.env); // e.g. SWIFTGATE_POSTGRES_URL + SWIFTGATE_S3_*: test/scale/run-http-suite-on-shared.sh
  config.dataDir = dataDir;
  config.http.host = '127.0.0.1';
  config.http.port = opts.port ?? 0;
  config.http.workers = 1;
  config.ftp.enabled = false;
  const gateway = await startGateway(config, { quiet: true });
  for (const u of opts.users ?? TEST_USERS) {
    await gateway.core.users.addUser({
      account: u.account,
      user: u.user,
      key: u.key,
      replace: true,
      ...(u.admin ? { admin: true } : {}),
      ...(u.resellerAdmin ? { resellerAdmin: true } : {}),
      ...(u.groups ? { groups: u.groups } : {}),
    });
  }
  const url = gateway.httpUrl ?? '';
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    gateway,
    dataDir,
    async close() {
      await gateway.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Logs in through the tempauth endpoint; returns the token and storage URL. */
export async function login(url: string, user: string, key: string): Promise<{ token: string; storageUrl: string }> {
  const res = await fetch(`${url}/auth/v1.0`, { headers: { 'X-Auth-User': user, 'X-Auth-Key': key } });
  if (res.status !== 200) throw new Error(`login ${user}: ${res.status}`);
  return { token: res.headers.get('x-auth-token') ?? '', storageUrl: res.headers.get('x-storage-url') ?? '' };
}
