/**
 * Local mode: the MountBackend over the core's Namespace in this process. Renames are
 * metadata-only and atomic, and the change feed reports every commit made anywhere
 * (HTTP, FTP, this mount), so the mount's caches are never stale.
 */
import type { Readable } from 'node:stream';
import type { ChangeEvent, ChangeFeed } from '../../src/core/change-feed.ts';
import type { Namespace } from '../../src/core/namespace.ts';
import type { Metadata, ObjectRecord } from '../../src/core/types.ts';
import { type NodeInfo, implicitDir, nodeOfObject, timestampMs } from './attrs.ts';
import type {
  ChangeListener,
  ContainerInfo,
  DirEntry,
  FileReader,
  MountBackend,
  MountChange,
  Page,
  PutOptions,
  PutSource,
  SpaceInfo,
  StoreObject,
} from './backend.ts';
import { mountChangeOf } from './backend.ts';
import { Errno, fsError } from './errno.ts';
import { ObjectReader } from './reader.ts';

export class LocalBackend implements MountBackend {
  readonly mode = 'local';
  readonly describe: string;
  private readonly ns: Namespace;
  private readonly feed: ChangeFeed;
  private readonly account: string;
  /** The core record behind each object handed out: reads open exactly that version. */
  private readonly records = new WeakMap<StoreObject, ObjectRecord>();

  constructor(ns: Namespace, account: string) {
    this.ns = ns;
    this.feed = ns.feed;
    this.account = account;
    this.describe = account;
  }

  async space(container?: string): Promise<SpaceInfo> {
    const acct = await this.ns.getAccount(this.account);
    const cont = container !== undefined ? await this.ns.getContainer(this.account, container) : undefined;
    const contQuota = intMeta(cont?.meta['quota-bytes']);
    const quotaBytes = contQuota ?? intMeta(acct?.meta['quota-bytes']);
    return {
      ...(quotaBytes !== undefined ? { quotaBytes } : {}),
      bytesUsed: (contQuota !== undefined ? cont?.bytesUsed : acct?.bytesUsed) ?? 0,
      objectCount: acct?.objectCount ?? 0,
    };
  }

  async listContainers(marker: string | undefined, limit: number): Promise<Page<string>> {
    const page = await this.ns.listContainers(this.account, { limit, ...(marker ? { marker } : {}) });
    const last = page[page.length - 1];
    return { items: page.map((c) => c.name), ...(page.length >= limit && last ? { nextMarker: last.name } : {}) };
  }

  async getContainer(container: string): Promise<ContainerInfo | undefined> {
    const c = await this.ns.getContainer(this.account, container);
    return c ? { name: c.name, timestampMs: timestampMs(c.putTimestamp), meta: c.meta } : undefined;
  }

  async createContainer(container: string, meta: Metadata): Promise<boolean> {
    return (await this.ns.createContainer(this.account, container, { meta })).created;
  }

  deleteContainer(container: string): Promise<void> {
    return this.ns.deleteContainer(this.account, container);
  }

  async setContainerMeta(container: string, set: Metadata): Promise<void> {
    await this.ns.updateContainer(this.account, container, { meta: { set } });
  }

  async stat(container: string, key: string): Promise<NodeInfo | undefined> {
    const obj = await this.getObject(container, key);
    if (obj) return nodeOfObject(obj);
    // One listing answers both: `key/` sorts first below the prefix when it exists.
    const [first] = await this.ns.listObjects(this.account, container, { prefix: `${key}/`, limit: 1 });
    if (!first) return undefined;
    if (first.name === `${key}/`) {
      const marker = await this.getObject(container, first.name);
      if (marker) return nodeOfObject(marker, 'dir');
    }
    // An implicit directory: its time is that of the first object below it.
    return implicitDir(first.kind === 'object' ? timestampMs(first.lastModified) : Date.now());
  }

  async getObject(container: string, name: string): Promise<StoreObject | undefined> {
    const rec = await this.ns.getObject(this.account, container, name);
    return rec ? this.wrap(rec) : undefined;
  }

  async hasChildren(container: string, dir: string): Promise<boolean> {
    return (await this.ns.listObjects(this.account, container, { prefix: `${dir}/`, limit: 1 })).length > 0;
  }

  async listDir(container: string, dir: string, marker: string | undefined, limit: number): Promise<Page<DirEntry>> {
    const page = await this.ns.listDirectory(this.account, container, dir, { limit, ...(marker ? { marker } : {}) });
    const items = page.entries.map((e): DirEntry => ({ name: e.name, kind: e.kind === 'directory' ? 'dir' : 'file' }));
    return { items, ...(page.nextMarker ? { nextMarker: page.nextMarker } : {}) };
  }

  openReader(_container: string, obj: StoreObject): FileReader {
    return new ObjectReader(this.ns, this.record(obj));
  }

  async openStream(_container: string, obj: StoreObject): Promise<Readable> {
    return (await this.ns.openObject(this.record(obj))).stream;
  }

  async putObject(container: string, name: string, src: PutSource, opts: PutOptions): Promise<StoreObject> {
    const localFile = await src.file?.();
    const rec = await this.ns.putObject(this.account, container, name, src.stream(), {
      contentType: opts.contentType,
      meta: opts.meta,
      ...(opts.headers ? { headers: opts.headers } : {}),
      expectedSize: src.size,
      ...(localFile ? { localFile } : {}),
      ...(opts.durable === false ? { durable: false } : {}),
    });
    return this.wrap(rec);
  }

  sync(): Promise<void> {
    return this.ns.sync();
  }

  async deleteObject(container: string, name: string): Promise<void> {
    await this.ns.deleteObject(this.account, container, name);
  }

  async setObjectMeta(container: string, name: string, set: Metadata): Promise<void> {
    await this.ns.updateObjectMeta(this.account, container, name, { meta: { set } });
  }

  async makeDirectory(container: string, dir: string, meta: Metadata): Promise<void> {
    await this.ns.makeDirectory(this.account, container, dir, meta);
  }

  removeDirectory(container: string, dir: string): Promise<void> {
    return this.ns.removeDirectory(this.account, container, dir);
  }

  async renameObject(container: string, from: string, to: string): Promise<void> {
    await this.ns.renameObject(this.account, container, from, to);
  }

  async renameDirectory(container: string, from: string, to: string): Promise<void> {
    await this.ns.renameDirectory(this.account, container, from, to);
  }

  subscribe(listener: ChangeListener): () => void {
    return this.feed.subscribe((events) => {
      const changes = mountChanges(this.account, events);
      return changes.length ? listener(changes) : undefined;
    });
  }

  async close(): Promise<void> {
    // The core belongs to the caller.
  }

  private wrap(rec: ObjectRecord): StoreObject {
    const obj: StoreObject = {
      name: rec.name,
      size: rec.size,
      etag: rec.etag,
      contentType: rec.contentType,
      timestampMs: timestampMs(rec.timestamp),
      metaTimestampMs: timestampMs(rec.metaTimestamp),
      meta: rec.meta,
      headers: rec.headers,
    };
    this.records.set(obj, rec);
    return obj;
  }

  private record(obj: StoreObject): ObjectRecord {
    const rec = this.records.get(obj);
    if (!rec) throw fsError(Errno.EIO, `${obj.name}: object not from this backend`);
    return rec;
  }
}

function mountChanges(account: string, events: readonly ChangeEvent[]): MountChange[] {
  const out: MountChange[] = [];
  for (const e of events) {
    if (e.account !== account) continue;
    const change = mountChangeOf(e);
    if (change) out.push(change);
  }
  return out;
}

function intMeta(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}
