import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChangeEvent, LocalChangeFeed } from '../core/change-feed.ts';
import { ErrorCodes, isSwiftgateError } from '../core/errors.ts';
import { LevelMetadataStore } from '../metadata/level-store.ts';
import { MetadataHost } from './metadata-host.ts';
import { MetadataConnection, RemoteChangeFeed, RemoteMutator, remoteMetadataStore } from './metadata-client.ts';

describe('metadata host over a unix socket', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let hostFeed: LocalChangeFeed;
  let host: MetadataHost;
  let sock: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-rpc-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    hostFeed = new LocalChangeFeed();
    host = new MetadataHost(store, hostFeed);
    sock = join(dir, 'sock');
    await host.listen(sock);
  });

  afterEach(async () => {
    await host.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('forwards calls, results with Maps, scans and typed errors', async () => {
    const conn = await MetadataConnection.connect(sock);
    const remote = remoteMetadataStore(conn);
    await remote.createContainer('AUTH_a', 'c', '0000000001.00000');
    const rec = {
      account: 'AUTH_a', container: 'c', name: 'x', size: 3, etag: 'e', contentType: 't',
      timestamp: '0000000002.00000', metaTimestamp: '0000000002.00000', blobId: 'b1', meta: {}, headers: {},
    };
    await remote.commitObjects('AUTH_a', 'c', [{ op: 'put', record: rec }]);
    const r = await remote.commitObjects('AUTH_a', 'c', [{ op: 'put', record: { ...rec, blobId: 'b2', size: 5 } }]);
    expect(r.previous.get('x')?.blobId).toBe('b1');
    expect(r.garbage).toEqual(['b1']);
    expect((await remote.getContainer('AUTH_a', 'c'))?.bytesUsed).toBe(5);
    const names: string[] = [];
    for await (const o of remote.scanObjects('AUTH_a', 'c')) names.push(o.name);
    expect(names).toEqual(['x']);
    const err = await remote.deleteContainer('AUTH_a', 'c').catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.CONTAINER_NOT_EMPTY)).toBe(true);
    conn.close();
  });

  it('resolves publish only after every other process has applied the events', async () => {
    const a = await MetadataConnection.connect(sock);
    const b = await MetadataConnection.connect(sock);
    const seenByB: ChangeEvent[] = [];
    const seenByHost: ChangeEvent[] = [];
    b.localFeed.subscribe(async (events) => {
      await new Promise((r) => setTimeout(r, 30)); // a slow cache must still be done before the ack
      seenByB.push(...events);
    });
    hostFeed.subscribe((events) => void seenByHost.push(...events));
    const feedA = new RemoteChangeFeed(a);
    const seenByA: ChangeEvent[] = [];
    feedA.subscribe((events) => void seenByA.push(...events));
    const ev: ChangeEvent = { kind: 'object', op: 'delete', account: 'AUTH_a', container: 'c', object: 'x' };
    await feedA.publish([ev]);
    expect(seenByB).toEqual([ev]);
    expect(seenByHost).toEqual([ev]);
    expect(seenByA).toEqual([ev]); // its own listeners once, not echoed back
    // Host-originated events reach every client.
    await hostFeed.publish([{ kind: 'account', op: 'update', account: 'AUTH_a' }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenByA).toHaveLength(2);
    expect(seenByB).toHaveLength(2);
    a.close();
    b.close();
  });

  it('runs a mutation, with its check and its events to every other process, in one round trip', async () => {
    const a = await MetadataConnection.connect(sock);
    const b = await MetadataConnection.connect(sock);
    const seenByB: ChangeEvent[] = [];
    b.localFeed.subscribe(async (events) => {
      await new Promise((r) => setTimeout(r, 30)); // a slow cache must still be done before the answer
      seenByB.push(...events);
    });
    const seenByA: ChangeEvent[] = [];
    a.localFeed.subscribe((events) => void seenByA.push(...events));
    const mutator = new RemoteMutator(a);
    const created = await mutator.run('createContainer', 'AUTH_a', 'c', '0000000001.00000');
    expect(created.created).toBe(true);
    const ev: ChangeEvent = { kind: 'container', op: 'put', account: 'AUTH_a', container: 'c' };
    expect(seenByB).toEqual([ev]);
    expect(seenByA).toEqual([ev]);
    expect(host.requests.get('mutate:createContainer')).toBe(1);
    const err = await mutator.run('commitObjects', 'AUTH_a', 'c', [{ op: 'delete', name: 'x' }], { exists: { name: 'x', now: 1 } }).catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.OBJECT_NOT_FOUND)).toBe(true);
    expect(seenByB).toHaveLength(1); // a failed mutation changed nothing
    a.close();
    b.close();
  });

  it('fails calls cleanly when the host goes away', async () => {
    const conn = await MetadataConnection.connect(sock);
    const remote = remoteMetadataStore(conn);
    await host.close();
    const err = await remote.getAccount('AUTH_a').catch((e: unknown) => e);
    expect(isSwiftgateError(err, ErrorCodes.BACKEND_UNAVAILABLE)).toBe(true);
  });
});
