/**
 * The public URL views in front of fastify: custom domains (Host → one container, served
 * from its root), storage-domain names (domain_remap, then the Swift API), staticweb for
 * anonymous requests, and `/domains`. It sits on the HTTP server's 'request' event so a
 * custom-domain GET never pays for fastify's routing, and an API request with an IP or
 * configured Host costs one Map lookup before fastify sees it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { DomainDirectory } from '../../../src/domains.ts';
import type { DomainRecord } from '../../../src/metadata/store.ts';
import { authenticate } from '../access.ts';
import type { HttpDeps } from '../context.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { decodeComponent, parseSwiftPath, splitUrl } from '../request-context.ts';
import { newTransId } from '../response.ts';
import { handleSwift, sendError } from '../swift-handler.ts';
import { handleDomainsApi, isDomainsPath } from './domains-api.ts';
import { HostClassifier, remapStorageDomain } from './hosts.ts';
import { servePublic } from './public-view.ts';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const VERSIONS = new Set(['v1', 'v1.0']);
const TRUE = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const DOMAIN_METHODS = 'GET, HEAD, OPTIONS';

/** Puts the public views in front of the app's request handling. Call once, before listen. */
export function installPublicViews(app: FastifyInstance, deps: HttpDeps): void {
  const server = app.server;
  const inner = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  const door = new FrontDoor(deps, (req, res) => {
    for (const l of inner) l.call(server, req, res);
  });
  server.on('request', door.handle);
}

class FrontDoor {
  private readonly hosts: HostClassifier;
  private readonly domains: DomainDirectory;
  private readonly apiHosts: string[];
  /**
   * Host (already normalized) → mapping, answered without a promise on the hot path.
   * Dropped by the change feed before a domain change is acknowledged, like every cache.
   */
  private readonly mapped = new Map<string, DomainRecord | null>();
  private gen = 0;

  constructor(
    private readonly deps: HttpDeps,
    private readonly next: Listener,
  ) {
    const ns = deps.namespace;
    // Until the server passes its own directory, one over the same store and feed is just as coherent.
    this.domains = deps.domains ?? new DomainDirectory(ns.store, ns.feed, ns.constraints);
    this.apiHosts = [];
    if (deps.config.storageUrlBase) {
      try {
        this.apiHosts.push(new URL(deps.config.storageUrlBase).hostname.toLowerCase());
      } catch {
        // not a URL: nothing to reserve
      }
    }
    this.hosts = new HostClassifier(deps.storageDomain, this.apiHosts);
    ns.feed.subscribe((events) => {
      for (const e of events) {
        if (e.kind === 'domain' || e.account === '*') {
          this.gen++;
          this.mapped.clear();
          return;
        }
      }
    });
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const c = this.hosts.classify(req.headers.host);
    if (c.kind === 'api') return this.api(req, res, req.url ?? '/', undefined);
    const host = c.host as string;
    if (c.kind === 'storage') return this.storage(req, res, host);
    const known = this.mapped.get(host);
    if (known !== undefined) {
      if (known) return this.domain(req, res, known);
      return this.api(req, res, req.url ?? '/', undefined);
    }
    const gen = this.gen;
    this.domains.resolve(host).then(
      (rec) => {
        // A lookup that raced a domain change must not cache what it read.
        if (gen === this.gen) {
          if (this.mapped.size >= 10_000) this.mapped.clear();
          this.mapped.set(host, rec ?? null);
        }
        return rec ? this.domain(req, res, rec) : this.api(req, res, req.url ?? '/', undefined);
      },
      (err: unknown) => this.fail(req, res, err),
    );
  };

  private reserved = (host: string): boolean => {
    const sd = this.deps.storageDomain;
    return this.apiHosts.includes(host) || host === 'localhost' || (sd !== undefined && (host === sd || host.endsWith(`.${sd}`)));
  };

  private api(req: IncomingMessage, res: ServerResponse, url: string, publicPath: string | undefined): void {
    if (isDomainsPath(url)) {
      void handleDomainsApi(this.deps, { directory: this.domains, reserved: this.reserved }, req, res, url);
      return;
    }
    const m = req.method;
    if ((m === 'GET' || m === 'HEAD') && url.startsWith('/v1')) {
      const h = req.headers;
      const token = h['x-auth-token'] ?? h['x-storage-token'];
      const webMode = h['x-web-mode'] !== undefined && TRUE.has(h['x-web-mode'].toString().toLowerCase());
      if (token === undefined || webMode) {
        void this.apiPublic(req, res, url, publicPath, webMode);
        return;
      }
    }
    this.next(req, res);
  }

  /** Anonymous reads on the API path: staticweb and referrer ACLs; anything else is Swift's. */
  private async apiPublic(req: IncomingMessage, res: ServerResponse, url: string, publicPath: string | undefined, webMode: boolean): Promise<void> {
    const next = () => this.next(req, res);
    const { path } = splitUrl(url);
    let sp: ReturnType<typeof parseSwiftPath>;
    try {
      sp = parseSwiftPath(path);
    } catch {
      return next();
    }
    if (!sp || sp.container === undefined || !VERSIONS.has(sp.version)) return next();
    let identity;
    try {
      identity = webMode ? await authenticate(this.deps.tokens, req, sp.account) : undefined;
    } catch {
      return next(); // Swift answers the bad token
    }
    await servePublic({
      deps: this.deps,
      req,
      res,
      account: sp.account,
      container: sp.container,
      object: sp.object ?? '',
      publicPath: publicPath ?? decodeComponent(path) ?? path,
      hideDenials: false,
      identity,
      webMode,
      delegate: next,
    });
  }

  /** domain_remap: the path is rewritten, then the request is an ordinary API request. */
  private storage(req: IncomingMessage, res: ServerResponse, host: string): void {
    const url = req.url ?? '/';
    const remapped = remapStorageDomain(host, this.deps.storageDomain as string, url);
    if (remapped === undefined) return this.api(req, res, url, undefined);
    if (remapped === 'bad') return this.fail(req, res, new HttpError(400, 'Bad domain in host header'));
    req.url = remapped;
    this.api(req, res, remapped, decodeComponent(splitUrl(url).path));
  }

  /** A custom domain: the mapped container at the root, anonymous, read-only. */
  private domain(req: IncomingMessage, res: ServerResponse, rec: DomainRecord): void {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (!url.startsWith('/')) return this.fail(req, res, httpErrors.badRequest());
    if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') return this.fail(req, res, httpErrors.methodNotAllowed(DOMAIN_METHODS));
    // A domain is a public view: a token sent to it grants nothing.
    const h = req.headers;
    if (h['x-auth-token'] !== undefined) delete h['x-auth-token'];
    if (h['x-storage-token'] !== undefined) delete h['x-storage-token'];
    const { path, query } = splitUrl(url);
    // Account and container are fixed segments; the client's path can only ever be the
    // object name (Swift splits off three segments and keeps the rest verbatim).
    const delegate = () =>
      void handleSwift(this.deps, req, res, `/v1/${encodeURIComponent(rec.account)}/${encodeURIComponent(rec.container)}${path}${query ? `?${query}` : ''}`);
    if (method === 'OPTIONS') return delegate();
    const decoded = decodeComponent(path);
    if (decoded === undefined || decoded.includes('\0')) return this.fail(req, res, new HttpError(412, 'Invalid UTF8 or contains NULL'));
    void servePublic({
      deps: this.deps,
      req,
      res,
      account: rec.account,
      container: rec.container,
      object: decoded.slice(1),
      publicPath: decoded,
      hideDenials: true,
      identity: undefined,
      webMode: false,
      delegate,
    });
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    try {
      sendError(res, newTransId(), err, 'unknown', req.method ?? 'GET');
    } catch {
      res.destroy();
    }
  }
}
