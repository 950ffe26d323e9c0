/**
 * fsck: proves metadata and blobs agree. Walks every record (maintenance scans — the
 * one place a full scan is right), checks each object's blob exists with its size (and,
 * with `deep`, its MD5), recomputes container and account counts and bytes, and finds
 * blobs no record references. `repair` fixes what can be fixed without guessing.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../storage-backends/blob-store.ts';
import type { MetadataStore } from './metadata/store.ts';

export type ProblemKind =
  | 'missing-blob'
  | 'blob-size-mismatch'
  | 'blob-etag-mismatch'
  | 'container-stats'
  | 'account-stats'
  | 'orphan-blob'
  | 'garbage-pending';

export interface Problem {
  kind: ProblemKind;
  detail: string;
  repaired: boolean;
}

export interface FsckReport {
  accounts: number;
  containers: number;
  objects: number;
  bytes: number;
  blobs: number;
  problems: Problem[];
}

export interface FsckOptions {
  repair?: boolean;
  /** Also read every blob and compare its MD5 with the record's ETag. */
  deep?: boolean;
  /** Blobs younger than this (ms) may belong to an upload in flight on a running server. */
  pendingGraceMs?: number;
  progress?: (line: string) => void;
}

export async function fsck(store: MetadataStore, blobs: BlobStore, opts: FsckOptions = {}): Promise<FsckReport> {
  const report: FsckReport = { accounts: 0, containers: 0, objects: 0, bytes: 0, blobs: 0, problems: [] };
  const referenced = new Set<string>();
  const problem = (kind: ProblemKind, detail: string, repaired = false) => report.problems.push({ kind, detail, repaired });

  for await (const account of store.scanAccounts()) {
    report.accounts++;
    let aContainers = 0;
    let aObjects = 0;
    let aBytes = 0;
    for await (const container of store.scanContainers(account.name)) {
      report.containers++;
      aContainers++;
      let cObjects = 0;
      let cBytes = 0;
      const lost: string[] = [];
      for await (const obj of store.scanObjects(account.name, container.name)) {
        report.objects++;
        cObjects++;
        cBytes += obj.size;
        const where = `${account.name}/${container.name}/${obj.name}`;
        if (obj.inline) {
          // Small objects live in the metadata store, committed with the record itself.
          const data = await store.getInlineBlob(obj.blobId);
          if (!data) {
            lost.push(obj.name);
            problem('missing-blob', `${where}: inline bytes ${obj.blobId} are missing`);
          } else if (data.length !== obj.size) {
            problem('blob-size-mismatch', `${where}: record says ${obj.size} bytes, inline bytes are ${data.length}`);
          } else if (opts.deep) {
            const etag = createHash('md5').update(data).digest('hex');
            if (etag !== obj.etag) problem('blob-etag-mismatch', `${where}: ETag ${obj.etag}, bytes hash to ${etag}`);
          }
          continue;
        }
        referenced.add(obj.blobId);
        const stat = await blobs.stat(obj.blobId);
        if (!stat) {
          lost.push(obj.name);
          problem('missing-blob', `${where}: blob ${obj.blobId} is missing`);
          continue;
        }
        if (stat.size !== obj.size) {
          problem('blob-size-mismatch', `${where}: record says ${obj.size} bytes, blob has ${stat.size}`);
          continue;
        }
        if (opts.deep) {
          const md5 = createHash('md5');
          for await (const chunk of await blobs.read(obj.blobId)) md5.update(chunk as Buffer);
          const etag = md5.digest('hex');
          if (etag !== obj.etag) problem('blob-etag-mismatch', `${where}: ETag ${obj.etag}, bytes hash to ${etag}`);
        }
      }
      if (opts.repair && lost.length > 0) {
        // The bytes are gone: keeping a record that can never be read only hides the loss.
        const r = await store.commitObjects(account.name, container.name, lost.map((name) => ({ op: 'delete' as const, name })));
        for (const p of report.problems) if (p.kind === 'missing-blob' && lost.some((n) => p.detail.includes(`/${n}:`))) p.repaired = true;
        cObjects -= lost.length;
        for (const prev of r.previous.values()) cBytes -= prev.size;
        for (const g of r.garbage) await store.clearGarbageBlob(g);
      }
      if (container.objectCount !== cObjects || container.bytesUsed !== cBytes) {
        const detail = `${account.name}/${container.name}: record says ${container.objectCount} objects/${container.bytesUsed} bytes, found ${cObjects}/${cBytes}`;
        if (opts.repair) await store.setContainerStats(account.name, container.name, { objectCount: cObjects, bytesUsed: cBytes });
        problem('container-stats', detail, opts.repair === true);
      }
      aObjects += cObjects;
      aBytes += cBytes;
    }
    report.bytes += aBytes;
    if (account.containerCount !== aContainers || account.objectCount !== aObjects || account.bytesUsed !== aBytes) {
      const detail = `${account.name}: record says ${account.containerCount} containers/${account.objectCount} objects/${account.bytesUsed} bytes, found ${aContainers}/${aObjects}/${aBytes}`;
      if (opts.repair) await store.setAccountStats(account.name, { containerCount: aContainers, objectCount: aObjects, bytesUsed: aBytes });
      problem('account-stats', detail, opts.repair === true);
    }
    opts.progress?.(`checked ${account.name}`);
  }

  // Blobs of uploads in flight are pending; recently garbage-marked ones are being deleted.
  const inFlight = new Set(await store.listPendingBlobs(Date.now() + 1, 1_000_000));
  const youngPending = new Set(await store.listPendingBlobs(Date.now() - (opts.pendingGraceMs ?? 0), 1_000_000));
  const garbage = new Set(await store.listGarbageBlobs(1_000_000));
  for await (const id of blobs.list()) {
    report.blobs++;
    if (referenced.has(id)) continue;
    if (inFlight.has(id) && !youngPending.has(id)) continue; // an upload still under way
    const marked = garbage.has(id) || inFlight.has(id);
    if (opts.repair) {
      await blobs.delete(id);
      if (garbage.has(id)) await store.clearGarbageBlob(id);
      if (inFlight.has(id)) await store.removePendingBlob(id);
    }
    problem(marked ? 'garbage-pending' : 'orphan-blob', `blob ${id} is referenced by no object`, opts.repair === true);
  }
  return report;
}

/** fsck(8)'s exit codes: 0 clean, 1 errors corrected, 4 errors left uncorrected. */
export function fsckExitCode(report: FsckReport): number {
  if (report.problems.length === 0) return 0;
  return report.problems.every((p) => p.repaired) ? 1 : 4;
}
