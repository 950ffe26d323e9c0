/** Table rows ⇄ records. Columns for what is queried or counted, jsonb for the open-ended rest. */
import type { AccountRecord, ContainerRecord, Metadata, ObjectRecord } from '../../core/types.ts';
import type { DomainRecord, TokenRecord, UserRecord } from '../store.ts';

export interface AccountRow {
  name: string;
  created_at: string;
  put_timestamp: string;
  meta: Metadata;
  sysmeta: Metadata;
  container_count: number;
  object_count: number;
  bytes_used: number;
}

export interface ContainerRow {
  account: string;
  name: string;
  created_at: string;
  put_timestamp: string;
  meta: Metadata;
  sysmeta: Metadata;
  read_acl: string;
  write_acl: string;
  policy: string;
  object_count: number;
  bytes_used: number;
}

export interface ObjectRow {
  account: string;
  container: string;
  name: string;
  size: number;
  etag: string;
  content_type: string;
  ts: string;
  meta_ts: string;
  blob_id: string;
  meta: Metadata;
  headers: Record<string, string>;
  delete_at: number | null;
}

export interface UserRow {
  account: string;
  user_name: string;
  key_hash: string;
  groups: string[];
  created_at: string;
}

export interface TokenRow {
  token_hash: string;
  account: string;
  user_name: string;
  groups: string[];
  expires_at: number;
}

export interface DomainRow {
  domain: string;
  account: string;
  container: string;
  created_at: string;
}

export function toAccount(r: AccountRow): AccountRecord {
  return {
    name: r.name,
    createdAt: r.created_at,
    putTimestamp: r.put_timestamp,
    meta: r.meta,
    sysmeta: r.sysmeta,
    containerCount: r.container_count,
    objectCount: r.object_count,
    bytesUsed: r.bytes_used,
  };
}

export function toContainer(r: ContainerRow): ContainerRecord {
  return {
    account: r.account,
    name: r.name,
    createdAt: r.created_at,
    putTimestamp: r.put_timestamp,
    meta: r.meta,
    readAcl: r.read_acl,
    writeAcl: r.write_acl,
    sysmeta: r.sysmeta,
    policy: r.policy,
    objectCount: r.object_count,
    bytesUsed: r.bytes_used,
  };
}

export function toObject(r: ObjectRow): ObjectRecord {
  const rec: ObjectRecord = {
    account: r.account,
    container: r.container,
    name: r.name,
    size: r.size,
    etag: r.etag,
    contentType: r.content_type,
    timestamp: r.ts,
    metaTimestamp: r.meta_ts,
    blobId: r.blob_id,
    meta: r.meta,
    headers: r.headers,
  };
  if (r.delete_at !== null) rec.deleteAt = r.delete_at;
  return rec;
}

export function toUser(r: UserRow): UserRecord {
  return { account: r.account, user: r.user_name, keyHash: r.key_hash, groups: r.groups, createdAt: r.created_at };
}

export function toToken(r: TokenRow): TokenRecord {
  return { tokenHash: r.token_hash, account: r.account, user: r.user_name, groups: r.groups, expiresAt: r.expires_at };
}

export function toDomain(r: DomainRow): DomainRecord {
  return { domain: r.domain, account: r.account, container: r.container, createdAt: r.created_at };
}
