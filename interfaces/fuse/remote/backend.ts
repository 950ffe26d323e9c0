/**
 * Remote mode: the MountBackend over a Swift endpoint's HTTP API (swiftgate or any
 * Swift). Attributes come from HEAD (X-Object-Meta-Mtime, -Mode, …), directories from
 * `?prefix=dir/&delimiter=/` listings read page by page, bytes from ranged GETs through
 * a read-ahead window (remote/reader.ts), writes as one streamed PUT with Content-Length
 * and ETag. Unlike local mode, renames are server-side COPY + DELETE per object: on
 * plain Swift that copies bytes, and a directory rename is not atomic (all copies are
 * made before any source is deleted, so a failure leaves both, never neither).
 * This mount's own writes are reported to its cache at once; changes made elsewhere are
 * pushed by a swiftgate endpoint over its change stream (remote/push.ts), else they show
 * when cached entries expire (--cache-ttl, also the safety net while the stream is down).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { DIRECTORY_CONTENT_TYPE, type Metadata } from '../../../src/core/types.ts';
import { type NodeInfo, implicitDir, isMarker, nodeOfObject } from '../attrs.ts';
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
} from '../backend.ts';
import { Errno, fsError } from '../errno.ts';
import { type RemoteAuth, SwiftClient, authUrlOf, header, swiftPath } from './client.ts';
import { PushInvalidation } from './push.ts';
import { RangeReader } from './reader.ts';

export interface RemoteOptions {
  /** Endpoint for auth v1.0 (`http://host:8080` or its `/auth/v1.0` URL), with user and key. */
  url?: string;
  /** ACCOUNT:USER */
  user?: string;
  key?: string;
  /** Or a token with its storage URL. */
  token?: string;
  storageUrl?: string;
  /** Attribute/listing cache lifetime, ms (default 1000). */
  cacheTtlMs?: number;
  /** Bytes fetched per ranged GET (default 1 MiB). */
  readAheadBytes?: number;
  /** Idle timeout per request, ms (default 30 s). */
  timeoutMs?: number;
  /** Subscribe to the endpoint's change stream (swiftgate only; default true). */
  push?: boolean;
  /** Where the change stream reports connects, losses, and that the endpoint has none. */
  log?: (msg: string) => void;
}

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
/** Parallel requests of a directory rename. */
const RENAME_CONCURRENCY = 8;
/** System headers an object keeps when the mount rewrites its bytes. */
const KEPT_HEADERS = ['content-disposition', 'content-encoding', 'content-language', 'cache-control'];

interface ListedObject {
  name: string;
  bytes: number;
  hash: string;
  content_type: string;
  last_modified: string;
}
type Listed = ListedObject | { subdir: string };

export class RemoteBackend implements MountBackend {
  readonly mode = 'remote';
  readonly client: SwiftClient;
  private readonly readAhead: number;
  private readonly listeners = new Set<ChangeListener>();
  /** Started with the first subscriber: only a mounted cache needs the events. */
  readonly push: PushInvalidation | undefined;

  private constructor(client: SwiftClient, opts: RemoteOptions) {
    this.client = client;
    this.readAhead = opts.readAheadBytes ?? 1024 * 1024;
    if (opts.push !== false) {
      const log = opts.log ?? (() => undefined);
      this.push = new PushInvalidation({ client, timeoutMs: opts.timeoutMs ?? 30_000, log, onChanges: (changes) => this.emit(changes) });
    }
  }

  static async connect(opts: RemoteOptions): Promise<RemoteBackend> {
    const auth = authOf(opts);
    const client = new SwiftClient({ auth, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    try {
      await client.authenticate();
      // Fails early on a wrong storage URL or token.
      await client.request('HEAD', '');
    } catch (err) {
      client.close();
      throw err;
    }
    return new RemoteBackend(client, opts);
  }

  get describe(): string {
    return this.client.storageUrl;
  }

  async space(container?: string): Promise<SpaceInfo> {
    const acct = await this.client.request('HEAD', '');
    const cont = container !== undefined ? await this.client.request('HEAD', swiftPath(container)) : undefined;
    const contQuota = cont ? int(header(cont.headers, 'x-container-meta-quota-bytes')) : undefined;
    const quotaBytes = contQuota ?? int(header(acct.headers, 'x-account-meta-quota-bytes'));
    const used = cont && contQuota !== undefined ? header(cont.headers, 'x-container-bytes-used') : header(acct.headers, 'x-account-bytes-used');
    return {
      ...(quotaBytes !== undefined ? { quotaBytes } : {}),
      bytesUsed: int(used) ?? 0,
      objectCount: int(header(acct.headers, 'x-account-object-count')) ?? 0,
    };
  }

  async listContainers(marker: string | undefined, limit: number): Promise<Page<string>> {
    const res = await this.client.request('GET', '', { query: { format: 'json', limit, marker } });
    const list = parseJson<Array<{ name: string }>>(res.body);
    const last = list[list.length - 1];
    return { items: list.map((c) => c.name), ...(list.length >= limit && last ? { nextMarker: last.name } : {}) };
  }

  async getContainer(container: string): Promise<ContainerInfo | undefined> {
    const res = await this.client.request('HEAD', swiftPath(container), { ok: [200, 204, 404] });
    if (res.status === 404) return undefined;
    const ts = seconds(header(res.headers, 'x-timestamp') ?? header(res.headers, 'x-put-timestamp')) ?? Date.now();
    return { name: container, timestampMs: ts, meta: metaOf(res.headers, 'x-container-meta-') };
  }

  async createContainer(container: string, meta: Metadata): Promise<boolean> {
    const res = await this.client.request('PUT', swiftPath(container), { headers: { ...metaHeaders('x-container-meta-', meta), 'content-length': '0' } });
    this.emit([{ kind: 'container', container, deleted: false }]);
    return res.status === 201;
  }

  async deleteContainer(container: string): Promise<void> {
    await this.client.request('DELETE', swiftPath(container));
    this.emit([{ kind: 'container', container, deleted: true }]);
  }

  async setContainerMeta(container: string, set: Metadata): Promise<void> {
    // Container POST merges (unlike object POST).
    await this.client.request('POST', swiftPath(container), { headers: { ...metaHeaders('x-container-meta-', set), 'content-length': '0' } });
    this.emit([{ kind: 'container', container, deleted: false }]);
  }

  async stat(container: string, key: string): Promise<NodeInfo | undefined> {
    const obj = await this.getObject(container, key);
    if (obj) return nodeOfObject(obj);
    // One listing answers both: `key/` sorts first below the prefix when it exists.
    const [first] = await this.listRaw(container, { prefix: `${key}/`, limit: 1 });
    if (!first || !('name' in first)) return undefined;
    if (first.name === `${key}/`) {
      const marker = await this.getObject(container, first.name);
      if (marker) return nodeOfObject(marker, 'dir');
    }
    return implicitDir(listedMs(first.last_modified));
  }

  async getObject(container: string, name: string): Promise<StoreObject | undefined> {
    const res = await this.client.request('HEAD', swiftPath(container, name), { ok: [200, 204, 404] });
    return res.status === 404 ? undefined : objectOf(name, res.headers);
  }

  async hasChildren(container: string, dir: string): Promise<boolean> {
    return (await this.listRaw(container, { prefix: `${dir}/`, limit: 1 })).length > 0;
  }

  async listDir(container: string, dir: string, marker: string | undefined, limit: number): Promise<Page<DirEntry>> {
    const prefix = dir ? `${dir}/` : '';
    const page = await this.listRaw(container, { prefix, delimiter: '/', limit, marker });
    const items: DirEntry[] = [];
    for (const e of page) {
      if ('subdir' in e) {
        const leaf = e.subdir.slice(prefix.length).replace(/\/$/, '');
        if (leaf && !leaf.includes('/')) items.push({ name: leaf, kind: 'dir' });
        continue;
      }
      const leaf = e.name.slice(prefix.length);
      if (!leaf) continue; // the directory's own marker
      items.push({ name: leaf, kind: isMarker({ contentType: e.content_type, size: e.bytes }) ? 'dir' : 'file' });
    }
    const last = page[page.length - 1];
    const lastName = last ? ('subdir' in last ? last.subdir : last.name) : undefined;
    return { items, ...(page.length >= limit && lastName ? { nextMarker: lastName } : {}) };
  }

  openReader(container: string, obj: StoreObject): FileReader {
    return new RangeReader(this, container, obj, this.readAhead);
  }

  /** One ranged GET into memory; 412 when the object is no longer `etag`. */
  async getRange(container: string, name: string, etag: string, start: number, end: number): Promise<{ status: number; body: Buffer }> {
    const res = await this.client.request('GET', swiftPath(container, name), {
      headers: { range: `bytes=${start}-${end}`, 'if-match': `"${etag}"` },
      ok: [200, 206, 412, 416],
    });
    // A server that ignores Range sends everything: keep the asked part.
    const body = res.status === 200 ? res.body.subarray(start, end + 1) : res.body;
    return { status: res.status, body };
  }

  openStream(container: string, obj: StoreObject): Promise<Readable> {
    return this.client.stream('GET', swiftPath(container, obj.name));
  }

  async putObject(container: string, name: string, src: PutSource, opts: PutOptions): Promise<StoreObject> {
    const etag = src.size === 0 ? EMPTY_MD5 : await src.md5();
    const kept: Record<string, string> = {};
    for (const h of KEPT_HEADERS) if (opts.headers?.[h] !== undefined) kept[h] = opts.headers[h];
    await this.client.request('PUT', swiftPath(container, name), {
      headers: {
        ...kept,
        ...metaHeaders('x-object-meta-', opts.meta),
        'content-type': opts.contentType,
        'content-length': String(src.size),
        etag,
      },
      body: () => src.stream(),
    });
    this.emit([{ kind: 'object', container, name, deleted: false }]);
    const now = Date.now();
    return { name, size: src.size, etag, contentType: opts.contentType, timestampMs: now, metaTimestampMs: now, meta: { ...opts.meta }, headers: kept };
  }

  async deleteObject(container: string, name: string): Promise<void> {
    await this.client.request('DELETE', swiftPath(container, name));
    this.emit([{ kind: 'object', container, name, deleted: true }]);
  }

  async setObjectMeta(container: string, name: string, set: Metadata): Promise<void> {
    // Object POST replaces all user metadata: send the current set merged with the change.
    const cur = await this.getObject(container, name);
    if (!cur) throw fsError(Errno.ENOENT, `${name} not found`);
    await this.client.request('POST', swiftPath(container, name), {
      headers: { ...metaHeaders('x-object-meta-', { ...cur.meta, ...set }), 'content-type': cur.contentType, 'content-length': '0' },
    });
    this.emit([{ kind: 'object', container, name, deleted: false }]);
  }

  async makeDirectory(container: string, dir: string, meta: Metadata): Promise<void> {
    if (await this.stat(container, dir)) throw fsError(Errno.EEXIST, `${dir} exists`);
    await this.putMarker(container, `${dir}/`, meta);
  }

  async removeDirectory(container: string, dir: string): Promise<void> {
    const inside = await this.listRaw(container, { prefix: `${dir}/`, limit: 2 });
    if (inside.some((e) => !('name' in e) || e.name !== `${dir}/`)) throw fsError(Errno.ENOTEMPTY, `${dir} is not empty`);
    const bare = await this.getObject(container, dir);
    const gone: string[] = [];
    if (inside.length > 0) gone.push(`${dir}/`);
    if (bare && isMarker(bare)) gone.push(dir);
    if (gone.length === 0) throw fsError(Errno.ENOENT, `${dir} not found`);
    for (const name of gone) await this.deleteQuietly(container, name);
    this.emit(gone.map((name) => ({ kind: 'object', container, name, deleted: true })));
  }

  async renameObject(container: string, from: string, to: string): Promise<void> {
    await this.copy(container, from, to);
    await this.deleteQuietly(container, from);
    this.emit([
      { kind: 'object', container, name: from, deleted: true },
      { kind: 'object', container, name: to, deleted: false },
    ]);
  }

  async renameDirectory(container: string, from: string, to: string): Promise<void> {
    if (to === from || to.startsWith(`${from}/`)) throw fsError(Errno.EINVAL, 'cannot move a directory into itself');
    if (await this.stat(container, to)) throw fsError(Errno.EEXIST, `${to} exists`);
    const names: string[] = [];
    const bare = await this.getObject(container, from);
    if (bare && isMarker(bare)) names.push(from);
    let marker: string | undefined;
    do {
      const page = await this.listRaw(container, { prefix: `${from}/`, limit: 1000, marker });
      for (const e of page) if ('name' in e) names.push(e.name);
      const last = page[page.length - 1];
      marker = page.length >= 1000 && last && 'name' in last ? last.name : undefined;
    } while (marker);
    if (names.length === 0) throw fsError(Errno.ENOENT, `${from} not found`);
    const dest = (n: string) => to + n.slice(from.length);
    try {
      // Every copy before any delete: a failure part way leaves both trees, never a loss.
      await eachLimit(names, RENAME_CONCURRENCY, (n) => this.copy(container, n, dest(n)));
      await eachLimit(names, RENAME_CONCURRENCY, (n) => this.deleteQuietly(container, n));
    } finally {
      this.emit(names.flatMap((n): MountChange[] => [
        { kind: 'object', container, name: n, deleted: true },
        { kind: 'object', container, name: dest(n), deleted: false },
      ]));
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    this.push?.start();
    return () => this.listeners.delete(listener);
  }

  /** Nothing to do: a PUT is answered once the server made it durable. */
  async sync(): Promise<void> {}

  async close(): Promise<void> {
    this.push?.close();
    this.client.close();
  }

  // ------------------------------------------------------------------ helpers

  private async listRaw(container: string, q: { prefix: string; delimiter?: string; limit: number; marker?: string | undefined }): Promise<Listed[]> {
    const res = await this.client.request('GET', swiftPath(container), { query: { format: 'json', ...q } });
    return parseJson<Listed[]>(res.body);
  }

  /** Server-side copy (X-Copy-From): metadata and content type come along. */
  private async copy(container: string, from: string, to: string): Promise<void> {
    await this.client.request('PUT', swiftPath(container, to), {
      headers: { 'x-copy-from': swiftPath(container, from), 'content-length': '0' },
    });
  }

  /** DELETE that accepts 404 (someone else removed it first: the goal is reached). */
  private async deleteQuietly(container: string, name: string): Promise<void> {
    await this.client.request('DELETE', swiftPath(container, name), { ok: [200, 202, 204, 404] });
  }

  private async putMarker(container: string, name: string, meta: Metadata): Promise<void> {
    await this.client.request('PUT', swiftPath(container, name), {
      headers: { ...metaHeaders('x-object-meta-', meta), 'content-type': DIRECTORY_CONTENT_TYPE, 'content-length': '0', etag: EMPTY_MD5 },
    });
    this.emit([{ kind: 'object', container, name, deleted: false }]);
  }

  private emit(changes: MountChange[]): void {
    for (const l of this.listeners) l(changes);
  }
}

function authOf(opts: RemoteOptions): RemoteAuth {
  if (opts.token) {
    if (!opts.storageUrl) throw new Error('--token needs --storage-url');
    return { kind: 'token', token: opts.token, storageUrl: opts.storageUrl };
  }
  if (!opts.url || !opts.user || opts.key === undefined) throw new Error('remote mode needs --remote URL with --user ACCOUNT:USER and --key KEY, or --token with --storage-url');
  return { kind: 'password', authUrl: authUrlOf(opts.url), user: opts.user, key: opts.key };
}

function objectOf(name: string, h: IncomingHttpHeaders): StoreObject {
  const dataMs = seconds(header(h, 'x-timestamp'));
  const lm = header(h, 'last-modified');
  const lastModifiedMs = lm ? Date.parse(lm) : Number.NaN;
  const metaMs = Number.isFinite(lastModifiedMs) ? Math.max(lastModifiedMs, dataMs ?? 0) : (dataMs ?? Date.now());
  const headers: Record<string, string> = {};
  for (const k of KEPT_HEADERS) {
    const v = header(h, k);
    if (v !== undefined) headers[k] = v;
  }
  return {
    name,
    size: int(header(h, 'content-length')) ?? 0,
    etag: (header(h, 'etag') ?? '').replace(/"/g, ''),
    contentType: header(h, 'content-type') ?? 'application/octet-stream',
    timestampMs: dataMs ?? metaMs,
    metaTimestampMs: metaMs,
    meta: metaOf(h, 'x-object-meta-'),
    headers,
  };
}

function metaOf(h: IncomingHttpHeaders, prefix: string): Metadata {
  const meta: Metadata = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith(prefix) && v !== undefined) meta[k.slice(prefix.length)] = Array.isArray(v) ? v.join(', ') : v;
  return meta;
}

function metaHeaders(prefix: string, meta: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) out[`${prefix}${k}`] = v;
  return out;
}

function int(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** "1700000000.12345" → ms. */
function seconds(v: string | undefined): number | undefined {
  const n = v === undefined ? Number.NaN : Number(v);
  return Number.isFinite(n) ? Math.round(n * 1000) : undefined;
}

/** Listing times are UTC without a zone: "2024-05-01T12:34:56.123456". */
function listedMs(v: string): number {
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isFinite(ms) ? ms : Date.now();
}

function parseJson<T>(body: Buffer): T {
  if (body.length === 0) return [] as unknown as T; // 204: an empty listing
  return JSON.parse(body.toString('utf8')) as T;
}

async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
