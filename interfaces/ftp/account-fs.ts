/**
 * One logged-in user's file-system view of its account, over the core's Namespace and
 * the API's authorization rules (auth/authorize.ts), so FTP grants exactly what the
 * Swift API grants: owners do everything, others what container ACLs allow.
 */
import { Readable } from 'node:stream';
import mime from 'mime-types';
import { authorize, type AuthorizeRequest } from '../../auth/authorize.ts';
import type { Identity } from '../../auth/identity.ts';
import { errors, ErrorCodes, isSwiftgateError } from '../../src/core/errors.ts';
import { isDirectoryMarker, type Namespace } from '../../src/core/namespace.ts';
import type { ContainerRecord, ObjectRecord } from '../../src/core/types.ts';
import { type FsEntry, listable, timestampToDate } from './listing.ts';
import { type FtpPath, formatPath, locate } from './paths.ts';
import { FtpReply, reply } from './replies.ts';

/** Where Swift keeps X-Account-Access-Control (X-Account-Sysmeta-Core-Access-Control). */
const ACCOUNT_ACL_SYSMETA = 'core-access-control';
const PAGE = 1000;

interface Grants {
  record: ContainerRecord | undefined;
  list: boolean;
  read: boolean;
  write: boolean;
}

export interface WritePlan {
  container: string;
  key: string;
  contentType: string;
  /** The object being resumed/appended to; its first `offset` bytes come first. */
  base?: ObjectRecord;
  offset: number;
}

export class AccountFs {
  readonly account: string;
  constructor(
    private readonly ns: Namespace,
    readonly identity: Identity,
  ) {
    this.account = identity.storageAccount;
  }

  // ------------------------------------------------------------ permissions

  private async accountAcl(): Promise<string | undefined> {
    return (await this.ns.getAccount(this.account))?.sysmeta[ACCOUNT_ACL_SYSMETA];
  }

  private allowed(req: Omit<AuthorizeRequest, 'identity' | 'account'>, accountAcl: string | undefined): boolean {
    return authorize({ ...req, identity: this.identity, account: this.account, ...(accountAcl ? { accountAcl } : {}) }).allowed;
  }

  private async grants(container: string, acl?: string): Promise<Grants> {
    const accountAcl = acl ?? (await this.accountAcl());
    const record = await this.ns.getContainer(this.account, container);
    const acls = { readAcl: record?.readAcl ?? '', writeAcl: record?.writeAcl ?? '' };
    return {
      record,
      list: this.allowed({ method: 'GET', container, isListing: true, ...acls }, accountAcl),
      read: this.allowed({ method: 'GET', container, object: 'x', isListing: false, ...acls }, accountAcl),
      write: this.allowed({ method: 'PUT', container, object: 'x', isListing: false, ...acls }, accountAcl),
    };
  }

  /** The container, if it exists and the user may do `need` in it; 550 otherwise. */
  private async container(container: string, need: 'list' | 'read' | 'write' | 'enter'): Promise<Grants & { record: ContainerRecord }> {
    const g = await this.grants(container);
    const ok = need === 'enter' ? g.list || g.write : g[need];
    // Like Swift, a user who could not act on the container anyway learns nothing about it.
    if (!ok) throw reply.denied();
    if (!g.record) throw reply.noSuchFile(`/${container}`);
    return { ...g, record: g.record };
  }

  private async accountOwner(method: 'PUT' | 'DELETE', container: string): Promise<void> {
    if (!this.allowed({ method, container, isListing: false }, await this.accountAcl())) throw reply.denied();
  }

  // --------------------------------------------------------------- reading

  /** What is at `path`, or undefined. Directories win over same-named files only at the container level. */
  async stat(path: FtpPath): Promise<FsEntry | undefined> {
    const loc = locate(path);
    if (loc.kind === 'root') return { name: '/', kind: 'dir', size: 0, mtime: new Date(0), canWrite: false };
    const g = await this.grants(loc.container);
    if (!(g.list || g.read || g.write) || !g.record) return undefined;
    const ctime = timestampToDate(g.record.putTimestamp);
    if (loc.kind === 'container') return { name: loc.container, kind: 'dir', size: 0, mtime: ctime, canWrite: g.write };
    const obj = await this.ns.getObject(this.account, loc.container, loc.key);
    if (obj && !isDirectoryMarker(obj)) {
      if (!g.read && !g.list) return undefined;
      return { name: loc.key.split('/').pop() ?? loc.key, kind: 'file', size: obj.size, mtime: timestampToDate(obj.metaTimestamp), canWrite: g.write };
    }
    if (await this.ns.directoryExists(this.account, loc.container, loc.key)) {
      const marker = obj ?? (await this.ns.getObject(this.account, loc.container, `${loc.key}/`));
      return { name: loc.key.split('/').pop() ?? loc.key, kind: 'dir', size: 0, mtime: marker ? timestampToDate(marker.metaTimestamp) : ctime, canWrite: g.write };
    }
    return undefined;
  }

  /** Whether the user may change things under `path` (for listing permission bits). */
  async writable(path: FtpPath): Promise<boolean> {
    const loc = locate(path);
    if (loc.kind === 'root') return this.allowed({ method: 'PUT', container: 'x', isListing: false }, await this.accountAcl());
    return (await this.grants(loc.container)).write;
  }

  /** Checks that `path` is a directory the user may enter (CWD). */
  async enter(path: FtpPath): Promise<void> {
    const loc = locate(path);
    if (loc.kind === 'root') return;
    await this.container(loc.container, 'enter');
    if (loc.kind === 'object' && !(await this.ns.directoryExists(this.account, loc.container, loc.key))) {
      throw reply.notADirectory(formatPath(path));
    }
  }

  /** The entries of directory `path`, streamed page by page. */
  async *list(path: FtpPath): AsyncGenerator<FsEntry> {
    const loc = locate(path);
    if (loc.kind === 'root') {
      yield* this.listContainers();
      return;
    }
    const g = await this.container(loc.container, 'list');
    const dir = loc.kind === 'object' ? loc.key : '';
    if (dir && !(await this.ns.directoryExists(this.account, loc.container, dir))) {
      const obj = await this.ns.getObject(this.account, loc.container, dir);
      if (!obj) throw reply.noSuchFile(formatPath(path));
      // LIST of a file lists that file, as `ls -l file` does.
      const name = dir.split('/').pop() ?? dir;
      yield { name, kind: 'file', size: obj.size, mtime: timestampToDate(obj.metaTimestamp), canWrite: g.write };
      return;
    }
    const ctime = timestampToDate(g.record.putTimestamp);
    let marker: string | undefined;
    for (;;) {
      const page = await this.ns.listDirectory(this.account, loc.container, dir, { limit: PAGE, ...(marker ? { marker } : {}) });
      for (const e of page.entries) {
        if (!listable(e.name)) continue;
        const mtime = e.object ? timestampToDate(e.object.lastModified) : ctime;
        yield { name: e.name, kind: e.kind === 'directory' ? 'dir' : 'file', size: e.object?.size ?? 0, mtime, canWrite: g.write };
      }
      if (!page.nextMarker) return;
      marker = page.nextMarker;
    }
  }

  private async *listContainers(): AsyncGenerator<FsEntry> {
    const accountAcl = await this.accountAcl();
    const all = this.allowed({ method: 'GET', isListing: true }, accountAcl);
    let marker: string | undefined;
    for (;;) {
      const page = await this.ns.listContainers(this.account, { limit: PAGE, ...(marker ? { marker } : {}) });
      for (const c of page) {
        if (c.kind !== 'container' || !listable(c.name)) continue;
        // Non-owners see the containers their ACL grants lets them into, and nothing else.
        const g = all ? undefined : await this.grants(c.name, accountAcl ?? '');
        if (g && !(g.list || g.write)) continue;
        const canWrite = g ? g.write : this.allowed({ method: 'PUT', container: c.name, object: 'x', isListing: false }, accountAcl);
        yield { name: c.name, kind: 'dir', size: 0, mtime: timestampToDate(c.lastModified), canWrite };
      }
      const last = page[page.length - 1];
      if (page.length < PAGE || !last) return;
      marker = last.name;
    }
  }

  /** The object at `path` for RETR/SIZE/MDTM: must be a readable plain file. */
  async file(path: FtpPath): Promise<ObjectRecord> {
    const loc = locate(path);
    if (loc.kind !== 'object') throw reply.notAFile(formatPath(path));
    await this.container(loc.container, 'read');
    const obj = await this.ns.getObject(this.account, loc.container, loc.key);
    if (!obj) {
      if (await this.ns.directoryExists(this.account, loc.container, loc.key)) throw reply.notAFile(formatPath(path));
      throw reply.noSuchFile(formatPath(path));
    }
    if (isDirectoryMarker(obj)) throw reply.notAFile(formatPath(path));
    return obj;
  }

  async openRead(obj: ObjectRecord, offset: number): Promise<Readable> {
    if (offset > obj.size) throw errors.rangeNotSatisfiable();
    if (obj.size === 0 || offset === obj.size) return Readable.from([]);
    const range = offset > 0 ? { start: offset, end: obj.size - 1 } : undefined;
    return (await this.ns.openObject(obj, range)).stream;
  }

  // --------------------------------------------------------------- writing

  /**
   * Validates an upload before any byte is accepted (so a refusal is a clean 5xx, not a
   * broken transfer). `offset` > 0 resumes: the result is the first `offset` bytes of the
   * existing object followed by the upload; 'append' means offset = current size.
   */
  async planWrite(path: FtpPath, offset: number | 'append'): Promise<WritePlan> {
    const loc = locate(path);
    if (loc.kind !== 'object') throw reply.badName(`${formatPath(path)}: files live inside a container; the top level holds only containers.`);
    await this.container(loc.container, 'write');
    const existing = await this.ns.getObject(this.account, loc.container, loc.key);
    if ((existing && isDirectoryMarker(existing)) || (!existing && (await this.ns.directoryExists(this.account, loc.container, loc.key)))) {
      throw reply.badName(`${formatPath(path)}: is a directory.`);
    }
    const contentType = mime.lookup(loc.key) || 'application/octet-stream';
    const base = { container: loc.container, key: loc.key, contentType };
    if (offset === 'append') return existing ? { ...base, base: existing, offset: existing.size } : { ...base, offset: 0 };
    if (offset === 0) return { ...base, offset: 0 };
    if (!existing) throw new FtpReply(550, `${formatPath(path)}: cannot resume, no such file (send REST 0 to start over).`);
    if (offset > existing.size) {
      throw new FtpReply(554, `REST ${offset} is beyond the end of ${formatPath(path)} (${existing.size} bytes).`);
    }
    return { ...base, base: existing, offset };
  }

  /** Streams `source` into the object; the core commits it only once the source ended cleanly. */
  async write(plan: WritePlan, source: Readable, signal: AbortSignal): Promise<ObjectRecord> {
    return this.ns.putObject(this.account, plan.container, plan.key, source, { contentType: plan.contentType, signal });
  }

  /** The bytes a resumed upload keeps from the existing object. */
  async resumePrefix(plan: WritePlan): Promise<Readable | undefined> {
    if (!plan.base || plan.offset === 0) return undefined;
    return (await this.ns.openObject(plan.base, { start: 0, end: plan.offset - 1 })).stream;
  }

  async mkdir(path: FtpPath): Promise<void> {
    const loc = locate(path);
    if (loc.kind === 'root') throw reply.badName('/ already exists.');
    if (loc.kind === 'container') {
      await this.accountOwner('PUT', loc.container);
      if (await this.ns.getContainer(this.account, loc.container)) throw errors.alreadyExists(`container ${loc.container}`);
      await this.ns.createContainer(this.account, loc.container);
      return;
    }
    await this.container(loc.container, 'write');
    await this.ns.makeDirectory(this.account, loc.container, loc.key);
  }

  async rmdir(path: FtpPath): Promise<void> {
    const loc = locate(path);
    if (loc.kind === 'root') throw reply.denied();
    if (loc.kind === 'container') {
      await this.accountOwner('DELETE', loc.container);
      await this.ns.deleteContainer(this.account, loc.container);
      return;
    }
    await this.container(loc.container, 'write');
    const obj = await this.ns.getObject(this.account, loc.container, loc.key);
    if (obj && !isDirectoryMarker(obj)) throw reply.notADirectory(formatPath(path));
    if (!(await this.ns.directoryExists(this.account, loc.container, loc.key))) throw reply.noSuchFile(formatPath(path));
    try {
      await this.ns.removeDirectory(this.account, loc.container, loc.key);
    } catch (err) {
      // A directory that exists only because objects live under it is "not empty", not "missing".
      if (isSwiftgateError(err, ErrorCodes.NOT_FOUND)) throw errors.directoryNotEmpty(formatPath(path));
      throw err;
    }
  }

  async remove(path: FtpPath): Promise<void> {
    const loc = locate(path);
    if (loc.kind !== 'object') throw reply.notAFile(formatPath(path));
    await this.container(loc.container, 'write');
    const obj = await this.ns.getObject(this.account, loc.container, loc.key);
    if (!obj) throw reply.noSuchFile(formatPath(path));
    if (isDirectoryMarker(obj)) throw reply.notAFile(formatPath(path));
    await this.ns.deleteObject(this.account, loc.container, loc.key);
  }

  /**
   * RNFR/RNTO. Within a container files and whole directories move as one metadata
   * commit; a file moves to another container by copy + delete; containers and
   * directories across containers are refused (the core cannot do them atomically).
   */
  async rename(from: FtpPath, to: FtpPath): Promise<void> {
    const src = locate(from);
    const dst = locate(to);
    if (src.kind !== 'object') throw reply.badName('Containers cannot be renamed; create a new one and move the files.');
    if (dst.kind !== 'object') throw reply.badName(`${formatPath(to)}: the top level holds only containers.`);
    await this.container(src.container, 'write');
    if (dst.container !== src.container) await this.container(dst.container, 'write');
    const what = await this.stat(from);
    if (!what) throw reply.noSuchFile(formatPath(from));
    const target = await this.stat(to);
    if (target?.kind === 'dir') throw reply.badName(`${formatPath(to)}: a directory of that name exists.`);
    if (what.kind === 'dir') {
      if (dst.container !== src.container) throw reply.badName('Directories cannot be moved to another container; move the files instead.');
      await this.ns.renameDirectory(this.account, src.container, src.key, dst.key);
      return;
    }
    if (dst.container === src.container) {
      await this.ns.renameObject(this.account, src.container, src.key, dst.key);
      return;
    }
    await this.container(src.container, 'read');
    await this.ns.copyObject({ account: this.account, container: src.container, name: src.key }, { account: this.account, container: dst.container, name: dst.key });
    await this.ns.deleteObject(this.account, src.container, src.key);
  }
}
