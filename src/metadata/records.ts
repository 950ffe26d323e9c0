/**
 * Record construction and metadata patching shared by every MetadataStore, so a new
 * account or container looks the same whichever database holds it.
 */
import type { AccountRecord, ContainerRecord, Metadata, MetadataPatch } from '../core/types.ts';
import type { ContainerInit } from './store.ts';

/** Swift's metadata semantics: an empty value removes the name. */
export function dropEmpty(meta: Metadata | undefined): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta ?? {})) if (v !== '') out[k] = v;
  return out;
}

export function applyPatch(current: Metadata, patch: MetadataPatch | undefined): Metadata {
  if (!patch) return current;
  const next: Metadata = patch.replace ? {} : { ...current };
  for (const name of patch.remove ?? []) delete next[name];
  for (const [k, v] of Object.entries(patch.set ?? {})) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  return next;
}

export function newAccount(account: string, timestamp: string, meta: Metadata = {}, sysmeta: Metadata = {}): AccountRecord {
  return { name: account, createdAt: timestamp, putTimestamp: timestamp, meta, sysmeta, containerCount: 0, objectCount: 0, bytesUsed: 0 };
}

export function newContainer(account: string, container: string, timestamp: string, init?: ContainerInit): ContainerRecord {
  return {
    account,
    name: container,
    createdAt: timestamp,
    putTimestamp: timestamp,
    meta: dropEmpty(init?.meta),
    sysmeta: dropEmpty(init?.sysmeta),
    readAcl: init?.readAcl ?? '',
    writeAcl: init?.writeAcl ?? '',
    policy: init?.policy ?? 'default',
    objectCount: 0,
    bytesUsed: 0,
  };
}
