/**
 * The planning half of commitObjects, kept free of SQL: given the stored records of the
 * names a commit touches, it replays the changes exactly as the LevelDB store does
 * (ifTimestamp checks, rename chains that see their own steps, counts, released and
 * referenced blobs) and returns the final state per name plus the bookkeeping.
 */
import { errors } from '../../core/errors.ts';
import type { ObjectRecord } from '../../core/types.ts';
import type { ObjectChange, ObjectCommitResult } from '../store.ts';

export interface CommitPlan {
  result: ObjectCommitResult;
  /** Final records to insert or overwrite. */
  upserts: ObjectRecord[];
  /** Stored names the commit leaves absent. */
  deletes: string[];
  /** Blob ids no longer pending (referenced by a put). */
  unpend: string[];
  dCount: number;
  dBytes: number;
}

export function planCommit(
  account: string,
  container: string,
  changes: readonly ObjectChange[],
  stored: ReadonlyMap<string, ObjectRecord>,
): CommitPlan {
  const result: ObjectCommitResult = { previous: new Map(), garbage: [] };
  let dCount = 0;
  let dBytes = 0;
  const released = new Set<string>();
  const referenced = new Set<string>();
  const local = new Map<string, ObjectRecord | null>();
  const current = (name: string): ObjectRecord | undefined => (local.has(name) ? (local.get(name) ?? undefined) : stored.get(name));

  for (const change of changes) {
    const name = change.op === 'put' ? change.record.name : change.name;
    const prev = current(name);
    if (change.ifTimestamp !== undefined) {
      const want = change.ifTimestamp;
      if ((want === null && prev) || (want !== null && prev?.timestamp !== want))
        throw errors.conflict(`object ${name} changed during the operation`);
    }
    if (prev && !result.previous.has(name)) result.previous.set(name, prev);
    if (prev) {
      dCount -= 1;
      dBytes -= prev.size;
      released.add(prev.blobId);
    }
    if (change.op === 'put') {
      const rec = change.record;
      if (rec.account !== account || rec.container !== container) throw errors.invalidArgument('record outside the commit container');
      dCount += 1;
      dBytes += rec.size;
      referenced.add(rec.blobId);
      local.set(name, rec);
    } else {
      local.set(name, null);
    }
  }
  for (const blobId of released) if (!referenced.has(blobId)) result.garbage.push(blobId);

  const upserts: ObjectRecord[] = [];
  const deletes: string[] = [];
  for (const [name, rec] of local) {
    if (rec) upserts.push(rec);
    else if (stored.has(name)) deletes.push(name);
  }
  return { result, upserts, deletes, unpend: [...referenced], dCount, dBytes };
}

/** Distinct names a list of changes touches. */
export function touchedNames(changes: readonly ObjectChange[]): string[] {
  return [...new Set(changes.map((c) => (c.op === 'put' ? c.record.name : c.name)))];
}
