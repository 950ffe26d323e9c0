/**
 * Configuration: one TOML file (all keys optional), then SWIFTGATE_* environment
 * variables, then command-line flags. Defaults run the whole gateway on a laptop:
 * LevelDB metadata and local-disk blobs under ./data, HTTP on 127.0.0.1:8080.
 * docs/configuration.md lists every key.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { errors } from './core/errors.ts';
import type { PurgeTarget } from './purge/notifier.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface S3Config {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  createBucket: boolean;
}

export interface Config {
  dataDir: string;
  http: HostPort & { enabled: boolean; workers: number; storageUrlBase?: string };
  auth: { tokenTtlSeconds: number };
  ftp: HostPort & {
    enabled: boolean;
    pasvPortMin: number;
    pasvPortMax: number;
    pasvAddress?: string;
    tlsCert?: string;
    tlsKey?: string;
    maxConnections: number;
    idleTimeoutSeconds: number;
  };
  fuse: { mountpoint?: string };
  metadata: { backend: 'level' | 'postgres'; postgresUrl?: string };
  /** inlineMaxBytes: objects up to this size live in the metadata store, committed with their record. */
  blobs: { backend: 'local' | 's3'; s3?: S3Config; inlineMaxBytes: number };
  cache: { enabled: boolean; maxObjectBytes: number; maxTotalBytes: number };
  domains: { storageDomain?: string };
  /** External caches told about every change (see src/purge). */
  purge: { targets: PurgeTarget[]; apiBase?: string };
}

export function defaultConfig(): Config {
  return {
    dataDir: resolve('data'),
    http: { enabled: true, host: '127.0.0.1', port: 8080, workers: 0 },
    auth: { tokenTtlSeconds: 86400 },
    ftp: {
      enabled: false,
      host: '127.0.0.1',
      port: 2121,
      pasvPortMin: 30000,
      pasvPortMax: 30100,
      maxConnections: 200,
      idleTimeoutSeconds: 900,
    },
    fuse: {},
    metadata: { backend: 'level' },
    blobs: { backend: 'local', inlineMaxBytes: 64 * 1024 },
    cache: { enabled: true, maxObjectBytes: 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 },
    domains: {},
    purge: { targets: [] },
  };
}

export function parseHostPort(value: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim()) ?? /^()()(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw errors.invalidArgument(`${what}: expected HOST:PORT, got "${value}"`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** Effective worker count: 0 means one per core. */
export function workerCount(config: Config): number {
  return config.http.workers > 0 ? config.http.workers : Math.max(1, availableParallelism());
}

type Table = Record<string, unknown>;

function table(v: unknown, where: string): Table {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.invalidArgument(`config: [${where}] must be a table`);
  return v as Table;
}
function str(t: Table, k: string, where: string): string | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw errors.invalidArgument(`config: ${where}.${k} must be a string`);
  return v;
}
function num(t: Table, k: string, where: string): number | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw errors.invalidArgument(`config: ${where}.${k} must be a non-negative number`);
  return v;
}
function bool(t: Table, k: string, where: string): boolean | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw errors.invalidArgument(`config: ${where}.${k} must be true or false`);
  return v;
}

/** Applies a parsed TOML document onto `c`. */
export function applyToml(c: Config, doc: Table, baseDir: string): void {
  const dataDir = str(doc, 'data_dir', 'top level');
  if (dataDir) c.dataDir = resolve(baseDir, dataDir);

  const http = table(doc.http, 'http');
  c.http.enabled = bool(http, 'enabled', 'http') ?? c.http.enabled;
  const hl = str(http, 'listen', 'http');
  if (hl) Object.assign(c.http, parseHostPort(hl, 'http.listen'));
  c.http.workers = num(http, 'workers', 'http') ?? c.http.workers;
  const su = str(http, 'storage_url_base', 'http');
  if (su) c.http.storageUrlBase = su.replace(/\/+$/, '');

  const auth = table(doc.auth, 'auth');
  c.auth.tokenTtlSeconds = num(auth, 'token_ttl', 'auth') ?? c.auth.tokenTtlSeconds;

  const ftp = table(doc.ftp, 'ftp');
  c.ftp.enabled = bool(ftp, 'enabled', 'ftp') ?? c.ftp.enabled;
  const fl = str(ftp, 'listen', 'ftp');
  if (fl) Object.assign(c.ftp, parseHostPort(fl, 'ftp.listen'));
  const pasv = str(ftp, 'passive_ports', 'ftp');
  if (pasv) {
    const m = /^(\d+)-(\d+)$/.exec(pasv);
    if (!m || Number(m[1]) > Number(m[2])) throw errors.invalidArgument('config: ftp.passive_ports must look like 30000-30100');
    c.ftp.pasvPortMin = Number(m[1]);
    c.ftp.pasvPortMax = Number(m[2]);
  }
  const pa = str(ftp, 'passive_address', 'ftp');
  if (pa) c.ftp.pasvAddress = pa;
  const cert = str(ftp, 'tls_cert', 'ftp');
  if (cert) c.ftp.tlsCert = resolve(baseDir, cert);
  const key = str(ftp, 'tls_key', 'ftp');
  if (key) c.ftp.tlsKey = resolve(baseDir, key);
  c.ftp.maxConnections = num(ftp, 'max_connections', 'ftp') ?? c.ftp.maxConnections;
  c.ftp.idleTimeoutSeconds = num(ftp, 'idle_timeout', 'ftp') ?? c.ftp.idleTimeoutSeconds;

  const fuse = table(doc.fuse, 'fuse');
  const mp = str(fuse, 'mountpoint', 'fuse');
  if (mp) c.fuse.mountpoint = resolve(baseDir, mp);

  const meta = table(doc.metadata, 'metadata');
  const backend = str(meta, 'backend', 'metadata');
  if (backend !== undefined) {
    if (backend !== 'level' && backend !== 'postgres') throw errors.invalidArgument('config: metadata.backend is "level" or "postgres"');
    c.metadata.backend = backend;
  }
  const pg = str(meta, 'postgres_url', 'metadata');
  if (pg) c.metadata.postgresUrl = pg;

  const blobs = table(doc.blobs, 'blobs');
  const bb = str(blobs, 'backend', 'blobs');
  if (bb !== undefined) {
    if (bb !== 'local' && bb !== 's3') throw errors.invalidArgument('config: blobs.backend is "local" or "s3"');
    c.blobs.backend = bb;
  }
  const inlineMax = num(blobs, 'inline_max_bytes', 'blobs');
  if (inlineMax !== undefined) {
    if (inlineMax > 1024 * 1024) throw errors.invalidArgument('config: blobs.inline_max_bytes is at most 1048576');
    c.blobs.inlineMaxBytes = Math.floor(inlineMax);
  }
  const s3 = table(blobs.s3, 'blobs.s3');
  if (Object.keys(s3).length > 0) {
    const bucket = str(s3, 'bucket', 'blobs.s3');
    if (!bucket) throw errors.invalidArgument('config: blobs.s3.bucket is required');
    c.blobs.s3 = {
      bucket,
      prefix: str(s3, 'prefix', 'blobs.s3') ?? '',
      region: str(s3, 'region', 'blobs.s3') ?? 'us-east-1',
      forcePathStyle: bool(s3, 'force_path_style', 'blobs.s3') ?? true,
      createBucket: bool(s3, 'create_bucket', 'blobs.s3') ?? false,
    };
    const ep = str(s3, 'endpoint', 'blobs.s3');
    if (ep) c.blobs.s3.endpoint = ep;
    const ak = str(s3, 'access_key_id', 'blobs.s3');
    if (ak) c.blobs.s3.accessKeyId = ak;
    const sk = str(s3, 'secret_access_key', 'blobs.s3');
    if (sk) c.blobs.s3.secretAccessKey = sk;
  }

  const cache = table(doc.cache, 'cache');
  c.cache.enabled = bool(cache, 'enabled', 'cache') ?? c.cache.enabled;
  c.cache.maxObjectBytes = num(cache, 'max_object_bytes', 'cache') ?? c.cache.maxObjectBytes;
  c.cache.maxTotalBytes = num(cache, 'max_total_bytes', 'cache') ?? c.cache.maxTotalBytes;

  const purge = table(doc.purge, 'purge');
  const apiBase = str(purge, 'public_base', 'purge');
  if (apiBase) c.purge.apiBase = apiBase.replace(/\/+$/, '');
  const targets = purge.targets;
  if (targets !== undefined) {
    if (!Array.isArray(targets)) throw errors.invalidArgument('config: purge.targets must be an array of tables ([[purge.targets]])');
    c.purge.targets = targets.map((t, i) => {
      const tt = table(t, `purge.targets[${i}]`);
      const url = str(tt, 'url', `purge.targets[${i}]`);
      const mode = str(tt, 'mode', `purge.targets[${i}]`) ?? 'purge';
      if (!url || !/^http:\/\//.test(url)) throw errors.invalidArgument(`config: purge.targets[${i}].url must be an http:// URL`);
      if (mode !== 'purge' && mode !== 'refresh' && mode !== 'webhook')
        throw errors.invalidArgument(`config: purge.targets[${i}].mode is purge, refresh or webhook`);
      const header = str(tt, 'header', `purge.targets[${i}]`);
      return { url, mode, ...(header ? { header } : {}) };
    });
  }

  const domains = table(doc.domains, 'domains');
  const sd = str(domains, 'storage_domain', 'domains');
  if (sd) c.domains.storageDomain = sd.toLowerCase().replace(/^\./, '');
}

/** SWIFTGATE_* variables override the file. */
export function applyEnv(c: Config, env: NodeJS.ProcessEnv): void {
  if (env.SWIFTGATE_DATA) c.dataDir = resolve(env.SWIFTGATE_DATA);
  if (env.SWIFTGATE_HTTP) Object.assign(c.http, parseHostPort(env.SWIFTGATE_HTTP, 'SWIFTGATE_HTTP'));
  if (env.SWIFTGATE_WORKERS) c.http.workers = Number(env.SWIFTGATE_WORKERS) || 0;
  if (env.SWIFTGATE_STORAGE_URL) c.http.storageUrlBase = env.SWIFTGATE_STORAGE_URL.replace(/\/+$/, '');
  if (env.SWIFTGATE_TOKEN_TTL) c.auth.tokenTtlSeconds = Number(env.SWIFTGATE_TOKEN_TTL) || c.auth.tokenTtlSeconds;
  if (env.SWIFTGATE_FTP) {
    c.ftp.enabled = true;
    Object.assign(c.ftp, parseHostPort(env.SWIFTGATE_FTP, 'SWIFTGATE_FTP'));
  }
  if (env.SWIFTGATE_POSTGRES_URL) {
    c.metadata.backend = 'postgres';
    c.metadata.postgresUrl = env.SWIFTGATE_POSTGRES_URL;
  }
  // S3 blobs from the environment (containers, CI); [blobs.s3] in the file fills the rest.
  if (env.SWIFTGATE_S3_BUCKET) {
    const flag = env.SWIFTGATE_S3_CREATE_BUCKET;
    c.blobs.backend = 's3';
    c.blobs.s3 = {
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: true,
      createBucket: false,
      ...c.blobs.s3,
      bucket: env.SWIFTGATE_S3_BUCKET,
      ...(env.SWIFTGATE_S3_PREFIX !== undefined ? { prefix: env.SWIFTGATE_S3_PREFIX } : {}),
      ...(env.SWIFTGATE_S3_REGION ? { region: env.SWIFTGATE_S3_REGION } : {}),
      ...(env.SWIFTGATE_S3_ENDPOINT ? { endpoint: env.SWIFTGATE_S3_ENDPOINT } : {}),
      ...(env.SWIFTGATE_S3_ACCESS_KEY_ID ? { accessKeyId: env.SWIFTGATE_S3_ACCESS_KEY_ID } : {}),
      ...(env.SWIFTGATE_S3_SECRET_ACCESS_KEY ? { secretAccessKey: env.SWIFTGATE_S3_SECRET_ACCESS_KEY } : {}),
      ...(flag ? { createBucket: flag === '1' || flag === 'true' } : {}),
    };
  }
  if (env.SWIFTGATE_STORAGE_DOMAIN) c.domains.storageDomain = env.SWIFTGATE_STORAGE_DOMAIN.toLowerCase();
}

export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const c = defaultConfig();
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw errors.invalidArgument(`cannot read config file ${opts.file}: ${(err as Error).message}`);
    }
    let doc: Table;
    try {
      doc = parseToml(text) as Table;
    } catch (err) {
      throw errors.invalidArgument(`config file ${opts.file} is not valid TOML: ${(err as Error).message}`);
    }
    applyToml(c, doc, resolve(opts.file, '..'));
  }
  applyEnv(c, opts.env ?? process.env);
  return c;
}
