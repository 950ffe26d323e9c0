import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelMetadataStore } from '../metadata/level-store.ts';
import { ErrorCodes, isSwiftgateError } from './errors.ts';
import { MutationRunner } from './mutations.ts';
import type { ObjectRecord } from './types.ts';

describe('MutationRunner', () => {
  let dir: string;
  let store: LevelMetadataStore;
  let runner: MutationRunner;
  const rec = (ts: string, size = 1): ObjectRecord => ({
    account: 'AUTH_a', container: 'c', name: 'x', size, etag: 'e', contentType: 't',
    timestamp: ts, metaTimestamp: ts, blobId: `b${ts}`, meta: {}, headers: {},
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-mut-'));
    store = await LevelMetadataStore.open(join(dir, 'meta'));
    runner = new MutationRunner(store);
    await runner.run('createContainer', ['AUTH_a', 'c', '0000000001.00000']);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('issues an account\'s mutations in arrival order, even while an earlier one checks', async () => {
    // The first has a precondition to read; the second none. Its write must still land second.
    const first = runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'put', record: rec('0000000002.00000') }], { quota: { bytes: 1, objects: 1 } }]);
    const second = runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'put', record: rec('0000000003.00000') }]]);
    await Promise.all([first, second]);
    expect((await store.getObject('AUTH_a', 'c', 'x'))?.timestamp).toBe('0000000003.00000');
  });

  it('checks preconditions against committed state and reports their events', async () => {
    const put = await runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'put', record: rec('0000000002.00000', 5) }], { quota: { bytes: 5, objects: 1 } }]);
    expect(put.events).toEqual([{ kind: 'object', op: 'put', account: 'AUTH_a', container: 'c', object: 'x' }]);
    await runner.run('updateContainer', ['AUTH_a', 'c', { meta: { set: { 'quota-bytes': '9' } } }, '0000000003.00000']);
    const over = await runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'put', record: rec('0000000004.00000', 5) }], { quota: { bytes: 5, objects: 1 } }]).catch((e: unknown) => e);
    expect(isSwiftgateError(over, ErrorCodes.QUOTA_EXCEEDED)).toBe(true);
    // Expired objects are not found, by deletes and metadata updates alike.
    await runner.run('updateObjectMeta', ['AUTH_a', 'c', 'x', { deleteAt: 100 }, '0000000005.00000', 50]);
    const gone = await runner.run('updateObjectMeta', ['AUTH_a', 'c', 'x', {}, '0000000006.00000', 100]).catch((e: unknown) => e);
    expect(isSwiftgateError(gone, ErrorCodes.OBJECT_NOT_FOUND)).toBe(true);
    const del = await runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'delete', name: 'x' }], { exists: { name: 'x', now: 100 } }]).catch((e: unknown) => e);
    expect(isSwiftgateError(del, ErrorCodes.OBJECT_NOT_FOUND)).toBe(true);
    const noContainer = await runner.run('commitObjects', ['AUTH_a', 'nope', [{ op: 'delete', name: 'x' }], { exists: { name: 'x', now: 1 } }]).catch((e: unknown) => e);
    expect(isSwiftgateError(noContainer, ErrorCodes.CONTAINER_NOT_FOUND)).toBe(true);
    const deleted = await runner.run('commitObjects', ['AUTH_a', 'c', [{ op: 'delete', name: 'x' }], { exists: { name: 'x', now: 50 } }]);
    expect(deleted.value.previous.get('x')?.timestamp).toBe('0000000002.00000');
    expect((await store.getContainer('AUTH_a', 'c'))?.objectCount).toBe(0);
  });
});
