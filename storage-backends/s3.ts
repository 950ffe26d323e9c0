/**
 * Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Swift's s3api, …), one
 * object per blob under `<prefix><aa>/<blobId>`: aa (two hex digits of a hash of the id)
 * spreads time-ordered ids over 256 key ranges, so new writes do not all land on the
 * one S3 partition that holds the newest keys.
 *
 * Writes stream through `@aws-sdk/lib-storage`'s Upload (one PUT up to `partSize`,
 * multipart above it), hashing MD5 on the way; the whole object is never buffered, only
 * `queueSize` parts. Durability is S3's acknowledgement. Our ETag is always the MD5 of
 * the bytes, and by default we check that S3 stored the same bytes by comparing its
 * ETag with the one those bytes must have (MD5, or MD5 of part MD5s + "-N").
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errors, isSwiftgateError } from '../src/core/errors.ts';
import type { BlobStat, BlobStore, BlobWriteOptions, BlobWriteResult, ByteRange } from './blob-store.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. "swiftgate/" (default none). */
  prefix?: string;
  region: string;
  /** For S3-compatible servers, e.g. http://127.0.0.1:9000 (default: AWS for `region`). */
  endpoint?: string;
  /** Path-style URLs (bucket in the path), as most S3-compatible servers want. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain (env, profile, IMDS, …) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** open() creates the bucket when it does not exist (default false). */
  createBucket?: boolean;
  /** Bytes per multipart part, and the single-PUT threshold (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel per write; each buffers one part (default 2). */
  queueSize?: number;
  /** Attempts per request with the SDK's backoff on throttling, 5xx and network errors (default 5). */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  /** Socket idle time before a request is failed, so a vanished endpoint cannot hang a request (default 60 s). */
  idleTimeoutMs?: number;
  /** Concurrent connections to the endpoint (default 256). */
  maxSockets?: number;
  /**
   * Check S3's ETag against the bytes we sent (default true). Turn off with SSE-KMS or
   * SSE-C, where S3's ETag is not an MD5. Multipart checks cost a second MD5 pass.
   */
  verifyEtag?: boolean;
  /**
   * "when_required" (default) sends no CRC checksum trailers: many S3-compatible servers
   * (Swift's s3api, older MinIO and Ceph) reject the SDK's streaming checksums.
   */
  checksums?: 'when_required' | 'when_supported';
  /**
   * cleanupIncomplete() aborts only multipart uploads started longer ago than this, so it
   * cannot pull the rug from under another gateway's upload in progress (default 1 h;
   * 0: all but this process's own, for a single gateway).
   */
  abandonedUploadAgeMs?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const BLOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
const BODY_HIGH_WATER_MARK = 256 * 1024;

export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly verifyEtag: boolean;
  private readonly abandonedAgeMs: number;
  private readonly where: string;
  /** Keys with a write in flight here, which cleanupIncomplete must leave alone. */
  private readonly active = new Set<string>();
  private closed = false;

  constructor(private readonly opts: S3BlobStoreOptions) {
    if (!opts.bucket) throw errors.invalidArgument('S3 blob store: bucket is required');
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    this.partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? 8 * 1024 * 1024);
    this.queueSize = Math.max(1, opts.queueSize ?? 2);
    this.verifyEtag = opts.verifyEtag !== false;
    this.abandonedAgeMs = opts.abandonedUploadAgeMs ?? 60 * 60 * 1000;
    this.where = `${opts.endpoint ?? `AWS ${opts.region}`}`;
    const agent = { keepAlive: true, maxSockets: opts.maxSockets ?? 256 };
    const checksums = opts.checksums === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: 'standard',
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5000,
        socketTimeout: opts.idleTimeoutMs ?? 60_000,
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(agent),
      },
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.accessKeyId && opts.secretAccessKey) {
      config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken };
    }
    this.client = new S3Client(config);
  }

  /** Creates the store and checks (or creates) the bucket; BACKEND_UNAVAILABLE if unreachable. */
  static async open(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = new S3BlobStore(opts);
    try {
      await store.check();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** HeadBucket, creating the bucket if configured to. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!(isMissing(err) && this.opts.createBucket)) {
        const why = isMissing(err) ? 'does not exist' : `unreachable: ${describe(err)}`;
        throw errors.backendUnavailable(`S3 bucket ${this.bucket} at ${this.where} ${why}`, err);
      }
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
        throw errors.backendUnavailable(`S3 bucket ${this.bucket} at ${this.where} cannot be created: ${describe(err)}`, err);
    }
  }

  newBlobId(): string {
    // Time first so ids sort roughly by creation; 64 random bits make clashes negligible.
    return Date.now().toString(16).padStart(12, '0') + randomBytes(8).toString('hex');
  }

  /** The object key of a blob. */
  key(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw errors.invalidArgument(`invalid blob id ${JSON.stringify(blobId)}`);
    return `${this.prefix}${shard(blobId)}/${blobId}`;
  }

  async write(blobId: string, source: Readable, options: BlobWriteOptions = {}): Promise<BlobWriteResult> {
    this.assertOpen();
    const key = this.key(blobId);
    const { expectedSize, maxSize, signal } = options;
    // Part digests are only needed to predict a multipart ETag.
    const mayBeMultipart = expectedSize === undefined || expectedSize > this.partSize;
    const hash = new UploadHash(this.verifyEtag && mayBeMultipart ? this.partSize : 0);
    const body = new PassThrough({ highWaterMark: BODY_HIGH_WATER_MARK });
    // Destroying the body with our error is how the Upload learns to give up; once it has
    // stopped reading, nobody else listens for that error.
    body.on('error', () => {});
    let failure: Error | undefined;
    const fail = (err: Error): void => {
      failure ??= err;
      if (!body.destroyed) body.destroy(failure);
    };
    const onAbort = (): void => {
      // An ended source has no listener left: its error would surface as an uncaught one.
      if (!source.readableEnded) source.destroy(errors.uploadAborted('upload aborted by the caller'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.active.add(key);

    // Not Upload.abort(): that settles done() at once while parts may still be in flight
    // and the multipart upload not yet aborted. Failing the body instead makes the
    // Upload abort the multipart upload itself before done() rejects.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/octet-stream' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const uploaded = upload.done();
    // Started without awaiting anything first: the source must have a reader (and so an
    // error listener) before this call yields.
    const fed = feed(source, body, hash, { expectedSize, maxSize, signal }).catch((err: unknown) => fail(asUploadError(err)));
    try {
      let s3Etag: string | undefined;
      try {
        s3Etag = (await uploaded).ETag;
      } catch (err) {
        fail(this.s3Error('upload', err));
      }
      if (failure) throw failure;
      await fed;
      const etag = hash.md5();
      if (this.verifyEtag) {
        const expected = hash.s3Etag(this.partSize);
        const got = s3Etag?.replace(/"/g, '');
        if (expected !== undefined && got !== expected)
          throw errors.internal(`S3 stored other bytes than sent for blob ${blobId}: ETag ${got ?? '(none)'}, expected ${expected}`);
      }
      return { blobId, size: hash.size, etag };
    } catch (err) {
      // Nothing may stay behind under the key: a multipart upload is aborted by the
      // Upload itself; a completed object (ETag mismatch, late abort) is deleted here.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => {});
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.active.delete(key);
    }
  }

  async read(blobId: string, range?: ByteRange): Promise<Readable> {
    this.assertOpen();
    const key = this.key(blobId);
    if (range) {
      const ok = Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end);
      if (!ok || range.start < 0 || range.end < range.start) throw errors.invalidArgument(`invalid byte range ${range.start}-${range.end}`);
    }
    try {
      // Resolves once the headers are in, so a missing blob rejects here, not mid-stream.
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      if (!(out.Body instanceof Readable)) throw errors.internal('S3 returned no readable body');
      return out.Body;
    } catch (err) {
      if (isSwiftgateError(err)) throw err;
      const name = (err as { name?: string }).name;
      if (isMissingKey(err)) throw errors.notFound(`blob ${blobId}`);
      if (name === 'InvalidRange' || status(err) === 416) throw errors.rangeNotSatisfiable();
      throw this.s3Error('read', err);
    }
  }

  async stat(blobId: string): Promise<BlobStat | undefined> {
    this.assertOpen();
    const key = this.key(blobId);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isMissingKey(err)) return undefined;
      throw this.s3Error('stat', err);
    }
  }

  async delete(blobId: string): Promise<void> {
    this.assertOpen();
    const key = this.key(blobId);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isMissingKey(err)) return;
      throw this.s3Error('delete', err);
    }
  }

  async *list(): AsyncIterable<string> {
    this.assertOpen();
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix || undefined, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.s3Error('list', err);
      }
      for (const obj of page.Contents ?? []) {
        const id = this.idOf(obj.Key);
        if (id) yield id;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async cleanupIncomplete(): Promise<number> {
    this.assertOpen();
    const cutoff = Date.now() - this.abandonedAgeMs;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        throw this.s3Error('list multipart uploads', err);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || this.active.has(u.Key)) continue;
        // Age 0 means every upload not in flight here (servers round Initiated up to the second).
        if (this.abandonedAgeMs > 0 && u.Initiated && u.Initiated.getTime() > cutoff) continue;
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          aborted++;
        } catch (err) {
          if ((err as { name?: string }).name !== 'NoSuchUpload') throw this.s3Error('abort multipart upload', err);
        }
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) return aborted;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.destroy();
  }

  private idOf(key: string | undefined): string | undefined {
    if (!key?.startsWith(this.prefix)) return undefined;
    const rest = key.slice(this.prefix.length);
    const slash = rest.indexOf('/');
    const id = rest.slice(slash + 1);
    if (slash !== 2 || !BLOB_ID.test(id) || rest.slice(0, 2) !== shard(id)) return undefined;
    return id;
  }

  private assertOpen(): void {
    if (this.closed) throw errors.backendUnavailable('S3 blob store is closed');
  }

  /** S3's failures are the backend's, never the client's: 503 unless it is our own bug. */
  private s3Error(what: string, err: unknown): Error {
    if (isSwiftgateError(err)) return err;
    const code = status(err);
    if (code === undefined || code >= 500 || code === 429 || code === 401 || code === 403 || code === 404)
      return errors.backendUnavailable(`S3 bucket ${this.bucket} at ${this.where} unreachable or refusing: ${what} failed: ${describe(err)}`, err);
    return errors.internal(`S3 bucket ${this.bucket} at ${this.where}: ${what} failed: ${describe(err)}`, err);
  }
}

interface Limits {
  expectedSize?: number;
  maxSize?: number;
  signal?: AbortSignal;
}

/**
 * Copies the source into the Upload's body, counting and hashing, with backpressure.
 * On our own refusals the source is left paused, not destroyed: destroying an HTTP
 * request kills its socket before a 413 can be sent (as in local-disk).
 */
async function feed(source: Readable, body: PassThrough, hash: UploadHash, limits: Limits): Promise<void> {
  const { expectedSize, maxSize, signal } = limits;
  if (signal?.aborted) throw errors.uploadAborted('upload aborted by the caller');
  if (expectedSize !== undefined && maxSize !== undefined && expectedSize > maxSize)
    throw errors.objectTooLarge(`${expectedSize} bytes exceed the limit of ${maxSize}`);
  const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterable<unknown>;
  for await (const chunk of chunks) {
    if (body.destroyed) return; // the upload failed; write() reports why
    const buf = toBuffer(chunk);
    const size = hash.size + buf.length;
    if (maxSize !== undefined && size > maxSize) throw errors.objectTooLarge(`object exceeds the limit of ${maxSize} bytes`);
    if (expectedSize !== undefined && size > expectedSize) throw errors.sizeMismatch(expectedSize, size);
    hash.update(buf);
    if (!body.write(buf)) await drained(body);
  }
  if (expectedSize !== undefined && hash.size !== expectedSize) throw errors.sizeMismatch(expectedSize, hash.size);
  if (signal?.aborted) throw errors.uploadAborted('upload aborted by the caller');
  body.end();
}

function drained(body: PassThrough): Promise<void> {
  if (body.destroyed || !body.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      body.off('drain', done);
      body.off('close', done);
      resolve();
    };
    body.on('drain', done);
    body.on('close', done);
  });
}

/** MD5 of the whole, plus MD5s of each part when a multipart ETag must be predicted. */
class UploadHash {
  size = 0;
  private readonly whole = createHash('md5');
  private part = createHash('md5');
  private partFill = 0;
  private readonly partDigests: Buffer[] = [];
  private digest: string | undefined;

  /** `partSize` 0: do not track parts. */
  constructor(private readonly partSize: number) {}

  update(buf: Buffer): void {
    this.whole.update(buf);
    this.size += buf.length;
    if (this.partSize === 0) return;
    for (let off = 0; off < buf.length; ) {
      const take = Math.min(this.partSize - this.partFill, buf.length - off);
      this.part.update(buf.subarray(off, off + take));
      this.partFill += take;
      off += take;
      if (this.partFill === this.partSize) {
        this.partDigests.push(this.part.digest());
        this.part = createHash('md5');
        this.partFill = 0;
      }
    }
  }

  md5(): string {
    return (this.digest ??= this.whole.digest('hex'));
  }

  /**
   * The ETag S3 gives these bytes when uploaded in parts of `partSize` (lib-storage
   * sends one PUT up to partSize, else full parts and a shorter last one); undefined
   * when parts were not tracked.
   */
  s3Etag(partSize: number): string | undefined {
    if (this.size <= partSize) return this.md5();
    if (this.partSize === 0) return undefined;
    const digests = this.partFill > 0 ? [...this.partDigests, this.part.digest()] : this.partDigests;
    return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
  }
}

function shard(blobId: string): string {
  return createHash('md5').update(blobId).digest('hex').slice(0, 2);
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw errors.invalidArgument('blob source must yield bytes');
}

/** Anything from the source side (client reset, abort signal, premature close) means the upload was cut off. */
function asUploadError(cause: unknown): Error {
  if (isSwiftgateError(cause)) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  const err = errors.uploadAborted(`upload was cut off before it completed${detail}`);
  err.cause = cause;
  return err;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** HeadBucket's 404 (no body, so the SDK calls it NotFound). */
function isMissing(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFound' || name === 'NoSuchBucket' || status(err) === 404;
}

/** A missing key, as opposed to a missing bucket (which is the backend's failure). */
function isMissingKey(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (status(err) === 404 && name !== 'NoSuchBucket');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const name = err.name !== 'Error' ? err.name : undefined;
  return [name, code, err.message].filter(Boolean).join(': ') || 'unknown error';
}
