/**
 * The FTP view of swiftgate (RFC 959, 2228/4217, 2428, 3659), speaking for the same
 * users, ACLs and namespace as the Swift API. Own protocol layer on node:net/node:tls:
 * see docs/ftp.md for why ftp-srv is not used.
 */
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Config } from '../../src/config.ts';
import type { Core } from '../../src/core.ts';
import type { RunningView } from '../../src/server.ts';
import { errors } from '../../src/core/errors.ts';
import { PassivePorts } from './passive-ports.ts';
import { FtpServer } from './server.ts';

/** Waiting for the client to open a data connection. */
const DATA_CONNECT_TIMEOUT_MS = 30_000;
/** No byte moving on an open data connection. */
const DATA_IDLE_TIMEOUT_MS = 120_000;

export async function startFtp(core: Core, config: Config): Promise<RunningView> {
  const c = config.ftp;
  if (c.pasvPortMin > c.pasvPortMax || c.pasvPortMax > 65535) {
    throw errors.invalidArgument(`ftp: passive port range ${c.pasvPortMin}-${c.pasvPortMax} is invalid`);
  }
  const log = (m: string): void => void process.stderr.write(`swiftgate: ${m}\n`);
  const server = new FtpServer({
    host: c.host,
    port: c.port,
    maxConnections: c.maxConnections,
    context: {
      namespace: core.namespace,
      users: core.users,
      ports: new PassivePorts(c.host, c.pasvPortMin, c.pasvPortMax),
      secureContext: await loadTls(c.tlsCert, c.tlsKey),
      pasvAddress: await advertisedAddress(c.pasvAddress),
      idleTimeoutMs: Math.max(1, c.idleTimeoutSeconds) * 1000,
      dataConnectTimeoutMs: DATA_CONNECT_TIMEOUT_MS,
      dataIdleTimeoutMs: DATA_IDLE_TIMEOUT_MS,
      log,
    },
  });
  // A changed or removed user is logged out of FTP too, as its API tokens are revoked.
  const unsubscribe = core.feed.subscribe((events) => {
    for (const e of events) {
      // Account '*': the shared feed may have missed events; re-check who is logged in.
      if (e.account === '*') void server.revalidate(async (a, u) => (await core.users.getUser(a, u)) !== undefined);
      else if (e.kind === 'user' && e.user !== undefined) server.revokeUser(e.account, e.user);
    }
  });
  let addr;
  try {
    addr = await server.listen();
  } catch (err) {
    unsubscribe();
    throw err;
  }
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    name: 'ftp',
    address: `ftp://${host}:${addr.port}`,
    async close() {
      unsubscribe();
      await server.close();
    },
  };
}

async function loadTls(certFile: string | undefined, keyFile: string | undefined): Promise<SecureContext | undefined> {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw errors.invalidArgument('ftp: TLS needs both tls_cert and tls_key');
  try {
    const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    // TLS 1.2 only: TLS 1.3 clients (gnutls/lftp) send ChangeCipherSpec and Finished as two
    // small writes, so with their Nagle and our delayed ACK every data connection stalls
    // ~40 ms (Node has no TCP_QUICKACK). One context for control and data, so data
    // connections can resume the control connection's session (tickets).
    return createSecureContext({ cert, key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  } catch (err) {
    throw errors.invalidArgument(`ftp: cannot load the TLS certificate/key (${(err as Error).message})`);
  }
}

/** PASV carries an IPv4 address: a configured name is resolved once at start. */
async function advertisedAddress(value: string | undefined): Promise<string | undefined> {
  if (!value) return undefined;
  if (isIPv4(value)) return value;
  try {
    return (await lookup(value, { family: 4 })).address;
  } catch {
    throw errors.invalidArgument(`ftp: pasv_address ${value} does not resolve to an IPv4 address`);
  }
}
