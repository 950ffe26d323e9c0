/**
 * Every namespace mutation as one step: precondition check, store change, and the change
 * events it makes. A Mutator runs the step and publishes its events before resolving.
 * In cluster mode the whole step runs in the metadata host (RemoteMutator): one round
 * trip does check + commit + invalidation in every other process, where separate calls
 * took three or four.
 */
import type { AccountUpdate, CommitOptions, ContainerInit, ContainerUpdate, NamespaceStore, ObjectChange, ObjectCommitResult } from '../metadata/store.ts';
import type { ChangeEvent, ChangeFeed } from './change-feed.ts';
import { type SwiftgateError, errors } from './errors.ts';
import type { AccountRecord, ContainerRecord, MetadataPatch, ObjectRecord } from './types.ts';

/** Conditions checked against the newest committed state right before an object commit. */
export interface CommitCheck {
  /** Fail with QUOTA_EXCEEDED if this much more would pass a quota of the container or account. */
  quota?: { bytes: number; objects: number };
  /** Fail unless this object exists and has not expired at `now` (else OBJECT_NOT_FOUND, or CONTAINER_NOT_FOUND). */
  exists?: { name: string; now: number };
}

export interface ObjectMetaUpdate {
  meta?: MetadataPatch;
  headers?: Record<string, string | null>;
  contentType?: string;
  deleteAt?: number | null;
}

/** Each mutation's arguments (the account first) and result. */
export interface MutationSignatures {
  commitObjects: [[account: string, container: string, changes: ObjectChange[], check?: CommitCheck, opts?: CommitOptions], ObjectCommitResult];
  /** `now`: an object expired by then is not found. */
  updateObjectMeta: [[account: string, container: string, name: string, update: ObjectMetaUpdate, timestamp: string, now: number], ObjectRecord];
  createAccount: [[account: string, timestamp: string, init?: AccountUpdate], { created: boolean; record: AccountRecord }];
  updateAccount: [[account: string, update: AccountUpdate, timestamp: string], AccountRecord];
  deleteAccount: [[account: string], void];
  createContainer: [[account: string, container: string, timestamp: string, init?: ContainerInit], { created: boolean; record: ContainerRecord }];
  updateContainer: [[account: string, container: string, update: ContainerUpdate, timestamp: string], ContainerRecord];
  deleteContainer: [[account: string, container: string], void];
}

export type MutationName = keyof MutationSignatures;
export type MutationArgs<K extends MutationName> = MutationSignatures[K][0];
export type MutationValue<K extends MutationName> = MutationSignatures[K][1];

export interface Mutated<T> {
  value: T;
  events: ChangeEvent[];
}

interface MutationDef<A extends unknown[], V> {
  /** Precondition; undefined when there is nothing to check. */
  check?: (store: NamespaceStore, ...args: A) => Promise<void> | undefined;
  apply: (store: NamespaceStore, ...args: A) => Promise<V>;
  events: (args: A, value: V) => ChangeEvent[];
}

type Defs = { [K in MutationName]: MutationDef<MutationArgs<K>, MutationValue<K>> };

const MUTATIONS: Defs = {
  commitObjects: {
    check: (store, account, container, _changes, check) => (check ? checkCommit(store, account, container, check) : undefined),
    apply: (store, account, container, changes, _check, opts) => store.commitObjects(account, container, changes, opts),
    events: ([account, container, changes], result) => objectEvents(account, container, changes, result),
  },
  updateObjectMeta: {
    check: (store, account, container, name, _update, _ts, now) => checkCommit(store, account, container, { exists: { name, now } }),
    apply: (store, account, container, name, update, timestamp) => store.updateObjectMeta(account, container, name, update, timestamp),
    events: ([account, container, name]) => [{ kind: 'object', op: 'update', account, container, object: name }],
  },
  createAccount: {
    apply: (store, account, timestamp, init) => store.createAccount(account, timestamp, init),
    events: ([account], r) => [{ kind: 'account', op: r.created ? 'put' : 'update', account }],
  },
  updateAccount: {
    apply: (store, account, update, timestamp) => store.updateAccount(account, update, timestamp),
    events: ([account]) => [{ kind: 'account', op: 'update', account }],
  },
  deleteAccount: {
    apply: (store, account) => store.deleteAccount(account),
    events: ([account]) => [{ kind: 'account', op: 'delete', account }],
  },
  createContainer: {
    apply: (store, account, container, timestamp, init) => store.createContainer(account, container, timestamp, init),
    events: ([account, container], r) => [{ kind: 'container', op: r.created ? 'put' : 'update', account, container }],
  },
  updateContainer: {
    apply: (store, account, container, update, timestamp) => store.updateContainer(account, container, update, timestamp),
    events: ([account, container]) => [{ kind: 'container', op: 'update', account, container }],
  },
  deleteContainer: {
    apply: (store, account, container) => store.deleteContainer(account, container),
    events: ([account, container]) => [{ kind: 'container', op: 'delete', account, container }],
  },
};

export function isMutationName(name: string): name is MutationName {
  return Object.hasOwn(MUTATIONS, name);
}

/**
 * Runs mutations against a store. Their store calls are issued in arrival order per
 * account even when an earlier one is still checking its preconditions: the store
 * serializes an account's writes in call order, and writers rely on that to commit
 * their own writes in X-Timestamp order.
 */
export class MutationRunner {
  private readonly issuing = new Map<string, Promise<void>>();

  constructor(private readonly store: NamespaceStore) {}

  async run<K extends MutationName>(name: K, args: MutationArgs<K>): Promise<Mutated<MutationValue<K>>> {
    const def = MUTATIONS[name] as unknown as MutationDef<MutationArgs<K>, MutationValue<K>>;
    const account = args[0];
    // Checks read committed state, so they need not wait for earlier mutations' turn.
    const checking = def.check?.(this.store, ...args);
    checking?.catch(() => undefined); // awaited below, maybe after `before`
    const before = this.issuing.get(account);
    let applied: Promise<MutationValue<K>>;
    if (!before && !checking) {
      applied = def.apply(this.store, ...args); // nothing to wait for: issue at once
    } else {
      let issued!: () => void;
      const mine = new Promise<void>((resolve) => (issued = resolve));
      this.issuing.set(account, mine);
      try {
        if (before) await before;
        await checking;
        applied = def.apply(this.store, ...args);
      } finally {
        issued();
        if (this.issuing.get(account) === mine) this.issuing.delete(account);
      }
    }
    const value = await applied;
    return { value, events: def.events(args, value) };
  }
}

/** Applies a mutation, then publishes its events: resolves once every cache has dropped what it changed. */
export interface Mutator {
  run<K extends MutationName>(name: K, ...args: MutationArgs<K>): Promise<MutationValue<K>>;
}

/** The mutator of the process that owns the store (or of every process of a shared database). */
export class LocalMutator implements Mutator {
  private readonly runner: MutationRunner;

  constructor(
    store: NamespaceStore,
    private readonly feed: ChangeFeed,
  ) {
    this.runner = new MutationRunner(store);
  }

  async run<K extends MutationName>(name: K, ...args: MutationArgs<K>): Promise<MutationValue<K>> {
    const { value, events } = await this.runner.run(name, args);
    await this.feed.publish(events);
    return value;
  }
}

function objectEvents(account: string, container: string, changes: ObjectChange[], result: ObjectCommitResult): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  const seen = new Set<string>();
  for (const c of changes) {
    const name = c.op === 'put' ? c.record.name : c.name;
    if (seen.has(name)) continue;
    // A delete that found nothing (a concurrent delete got there first) changed nothing.
    if (c.op === 'delete' && !result.previous.has(name)) continue;
    seen.add(name);
    events.push({ kind: 'object', op: c.op === 'put' ? 'put' : 'delete', account, container, object: name });
  }
  return events;
}

async function checkCommit(store: NamespaceStore, account: string, container: string, check: CommitCheck): Promise<void> {
  if (check.exists) {
    const { name, now } = check.exists;
    const rec = await store.getObject(account, container, name);
    if (!rec || (rec.deleteAt !== undefined && rec.deleteAt <= now)) {
      if (!(await store.getContainer(account, container))) throw errors.containerNotFound(container);
      throw errors.objectNotFound(name);
    }
  }
  if (check.quota) {
    const cont = await store.getContainer(account, container);
    if (!cont) throw errors.containerNotFound(container);
    const over = quotaExceeded(cont, await store.getAccount(account), check.quota.bytes, check.quota.objects);
    if (over) throw over;
  }
}

/** The error if adding `bytes` and `objects` would pass a quota of the container or account. */
export function quotaExceeded(cont: ContainerRecord, acct: AccountRecord | undefined, bytes: number, objects: number): SwiftgateError | undefined {
  const cBytes = intMeta(cont.meta['quota-bytes']);
  if (cBytes !== undefined && cont.bytesUsed + bytes > cBytes) return errors.quotaExceeded('Upload exceeds quota.');
  const cCount = intMeta(cont.meta['quota-count']);
  if (cCount !== undefined && cont.objectCount + objects > cCount) return errors.quotaExceeded('Upload exceeds quota.');
  const aBytes = intMeta(acct?.meta['quota-bytes']);
  if (acct && aBytes !== undefined && acct.bytesUsed + bytes > aBytes) return errors.quotaExceeded('Upload exceeds quota.');
  return undefined;
}

/** A quota setting's value, if it is a whole number (anything else sets no quota). */
export function intMeta(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
