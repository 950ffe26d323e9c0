/**
 * The metadata store: where records live and how they change atomically. Two
 * implementations fill it: LevelDB (embedded default, one process owns it) and a
 * database server (shared by many gateways). Every method is one atomic step; counts
 * and bytes of containers and accounts are kept in the same commit as the change that
 * moves them, so they are exactly right at every instant.
 *
 * Blob bookkeeping for crash safety lives here too: a blob is *pending* from before its
 * bytes are written until the commit that references it (or until collected), and
 * becomes *garbage* in the same commit that stops referencing it, until it is deleted.
 */
import type {
  AccountRecord,
  ContainerListing,
  ContainerRecord,
  ListQuery,
  MetadataPatch,
  ObjectListing,
  ObjectRecord,
} from '../core/types.ts';

export interface ContainerInit {
  meta?: Record<string, string>;
  sysmeta?: Record<string, string>;
  readAcl?: string;
  writeAcl?: string;
  policy?: string;
}

export interface ContainerUpdate {
  meta?: MetadataPatch;
  sysmeta?: MetadataPatch;
  readAcl?: string;
  writeAcl?: string;
}

export interface AccountUpdate {
  meta?: MetadataPatch;
  sysmeta?: MetadataPatch;
}

/** One change inside an atomic object commit. */
export type ObjectChange =
  | {
      op: 'put';
      record: ObjectRecord;
      /** Fail the whole commit with CONFLICT unless the current record has this timestamp (`null`: must not exist). */
      ifTimestamp?: string | null;
      /**
       * The bytes of a small object (record.inline), stored in the same atomic commit as
       * the record: one durable write instead of blob fsync + rename + commit.
       */
      inline?: Buffer;
    }
  | {
      op: 'delete';
      name: string;
      ifTimestamp?: string;
    };

export interface ObjectCommitResult {
  /** Records that the commit replaced or deleted, by name (absent when nothing was there). */
  previous: Map<string, ObjectRecord>;
  /** Blob ids the commit made unreferenced (now garbage, to be deleted by the caller). */
  garbage: string[];
}

export interface UserRecord {
  account: string; // "test" (the bare account name; the storage account is AUTH_test)
  user: string;
  keyHash: string; // scrypt, self-describing
  groups: string[]; // ".admin", ".reseller_admin", free-form groups
  createdAt: string;
}

export interface TokenRecord {
  tokenHash: string;
  account: string;
  user: string;
  groups: string[];
  expiresAt: number; // unix ms
}

export interface DomainRecord {
  domain: string; // lower-case host name, no port
  account: string; // storage account, "AUTH_test"
  container: string;
  createdAt: string;
}

export interface CommitOptions {
  /**
   * False: the commit may resolve before it is durable — it survives a crash of this
   * process at once, and a crash of the machine once the next sync() (or any durable
   * commit, or a timer within a second) has run. A store whose every commit is durable
   * ignores it. The blobs a commit references must be durable before it is made.
   */
  durable?: boolean;
}

/** Accounts, containers and objects. */
export interface NamespaceStore {
  getAccount(account: string): Promise<AccountRecord | undefined>;
  /** Creates the account if missing; returns whether it was created. */
  createAccount(account: string, timestamp: string, init?: AccountUpdate): Promise<{ created: boolean; record: AccountRecord }>;
  updateAccount(account: string, update: AccountUpdate, timestamp: string): Promise<AccountRecord>;
  /** Fails with ACCOUNT_NOT_EMPTY while it has containers. */
  deleteAccount(account: string): Promise<void>;
  listContainers(account: string, query: ListQuery): Promise<ContainerListing>;

  getContainer(account: string, container: string): Promise<ContainerRecord | undefined>;
  /** Creates the container (and the account if missing), or updates its settings if it exists. */
  createContainer(
    account: string,
    container: string,
    timestamp: string,
    init?: ContainerInit,
  ): Promise<{ created: boolean; record: ContainerRecord }>;
  updateContainer(account: string, container: string, update: ContainerUpdate, timestamp: string): Promise<ContainerRecord>;
  /** Fails with CONTAINER_NOT_EMPTY while it has objects. */
  deleteContainer(account: string, container: string): Promise<void>;

  getObject(account: string, container: string, name: string): Promise<ObjectRecord | undefined>;
  /**
   * Applies puts and deletes in one container atomically, maintaining counts, bytes,
   * the expiry index and pending/garbage blob bookkeeping. A blob referenced by a put
   * stops being pending; a blob no longer referenced after the commit becomes garbage
   * (an inline blob is simply deleted in the same commit).
   */
  commitObjects(account: string, container: string, changes: ObjectChange[], opts?: CommitOptions): Promise<ObjectCommitResult>;
  /** Makes every commit so far durable (those that deferred it; see CommitOptions). */
  sync(): Promise<void>;
  updateObjectMeta(
    account: string,
    container: string,
    name: string,
    update: { meta?: MetadataPatch; headers?: Record<string, string | null>; contentType?: string; deleteAt?: number | null },
    timestamp: string,
  ): Promise<ObjectRecord>;
  listObjects(account: string, container: string, query: ListQuery): Promise<ObjectListing>;
  /** Bytes of an inline object (record.inline), or undefined once its record no longer references it. */
  getInlineBlob(blobId: string): Promise<Buffer | undefined>;
  /** Objects whose X-Delete-At is at or before `nowSeconds`, oldest first. */
  listExpiredObjects(nowSeconds: number, limit: number): Promise<Array<{ account: string; container: string; name: string; deleteAt: number }>>;

  addPendingBlob(blobId: string): Promise<void>;
  /** Drops a pending mark without a commit (the upload failed and its blob was deleted). */
  removePendingBlob(blobId: string): Promise<void>;
  /** Pending blobs marked before `beforeMs` (unix ms). */
  listPendingBlobs(beforeMs: number, limit: number): Promise<string[]>;
  listGarbageBlobs(limit: number): Promise<string[]>;
  clearGarbageBlob(blobId: string): Promise<void>;
}

/** Users, tokens and custom domains. */
export interface IdentityStore {
  getUser(account: string, user: string): Promise<UserRecord | undefined>;
  putUser(record: UserRecord): Promise<void>;
  deleteUser(account: string, user: string): Promise<boolean>;
  listUsers(): Promise<UserRecord[]>;

  putToken(record: TokenRecord): Promise<void>;
  getToken(tokenHash: string): Promise<TokenRecord | undefined>;
  deleteToken(tokenHash: string): Promise<void>;
  /** Deletes the tokens of one user (after a key change or removal). */
  deleteUserTokens(account: string, user: string): Promise<number>;
  purgeExpiredTokens(nowMs: number): Promise<number>;

  /** Maps a domain to a container; fails with CONFLICT if another account owns the domain. */
  claimDomain(record: DomainRecord): Promise<void>;
  getDomain(domain: string): Promise<DomainRecord | undefined>;
  listDomains(account?: string): Promise<DomainRecord[]>;
  removeDomain(domain: string): Promise<boolean>;
}

/** Whole-store walks and corrections, for fsck and migrations only (never on a request path). */
export interface MaintenanceStore {
  scanAccounts(): AsyncIterable<AccountRecord>;
  scanContainers(account: string): AsyncIterable<ContainerRecord>;
  scanObjects(account: string, container: string): AsyncIterable<ObjectRecord>;
  setContainerStats(account: string, container: string, stats: { objectCount: number; bytesUsed: number }): Promise<void>;
  setAccountStats(account: string, stats: { containerCount: number; objectCount: number; bytesUsed: number }): Promise<void>;
}

export interface MetadataStore extends NamespaceStore, IdentityStore, MaintenanceStore {
  close(): Promise<void>;
}
