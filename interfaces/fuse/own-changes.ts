/**
 * The changes this mount is making itself. The kernel learns of those from the
 * operation (it creates, renames and drops its own entries), so they need no kernel
 * invalidation — and must not get one: the operation may hold the directory's lock
 * until we answer, and we answer only after the commit that reported the change.
 */
import type { Readable } from 'node:stream';
import type { Metadata } from '../../src/core/types.ts';
import type { ChangeListener, MountBackend, MountChange, PutOptions, PutSource } from './backend.ts';

/** A container-relative name, or (`tree`) a name and everything below it. */
interface Scope {
  container: string;
  name: string;
  tree: boolean;
}

export class OwnChanges {
  private readonly active = new Set<Scope[]>();

  async during<T>(scopes: Scope[], work: () => Promise<T>): Promise<T> {
    this.active.add(scopes);
    try {
      return await work();
    } finally {
      this.active.delete(scopes);
    }
  }

  /** Was `change` made by one of this mount's operations under way? */
  covers(change: MountChange): boolean {
    if (change.kind === 'all' || this.active.size === 0) return false;
    const name = change.kind === 'container' ? '' : change.name.replace(/\/+$/, '');
    for (const scopes of this.active) {
      for (const s of scopes) {
        if (s.container !== change.container) continue;
        if (s.tree ? s.name === '' || name === s.name || name.startsWith(`${s.name}/`) : name === s.name) return true;
      }
    }
    return false;
  }
}

const one = (container: string, name: string): Scope => ({ container, name: name.replace(/\/+$/, ''), tree: false });
const tree = (container: string, name: string): Scope => ({ container, name: name.replace(/\/+$/, ''), tree: true });

/** `store` with every mutation registered in `own` while it runs. */
export class OwnChangeTracker implements MountBackend {
  readonly mode: MountBackend['mode'];
  readonly describe: string;

  constructor(
    private readonly store: MountBackend,
    private readonly own: OwnChanges,
  ) {
    this.mode = store.mode;
    this.describe = store.describe;
  }

  space(container?: string) {
    return this.store.space(container);
  }
  listContainers(marker: string | undefined, limit: number) {
    return this.store.listContainers(marker, limit);
  }
  getContainer(container: string) {
    return this.store.getContainer(container);
  }
  createContainer(container: string, meta: Metadata) {
    return this.own.during([tree(container, '')], () => this.store.createContainer(container, meta));
  }
  deleteContainer(container: string) {
    return this.own.during([tree(container, '')], () => this.store.deleteContainer(container));
  }
  setContainerMeta(container: string, set: Metadata) {
    return this.own.during([tree(container, '')], () => this.store.setContainerMeta(container, set));
  }
  stat(container: string, key: string) {
    return this.store.stat(container, key);
  }
  getObject(container: string, name: string) {
    return this.store.getObject(container, name);
  }
  hasChildren(container: string, dir: string) {
    return this.store.hasChildren(container, dir);
  }
  listDir(container: string, dir: string, marker: string | undefined, limit: number) {
    return this.store.listDir(container, dir, marker, limit);
  }
  openReader(...args: Parameters<MountBackend['openReader']>) {
    return this.store.openReader(...args);
  }
  openStream(...args: Parameters<MountBackend['openStream']>): Promise<Readable> {
    return this.store.openStream(...args);
  }
  putObject(container: string, name: string, src: PutSource, opts: PutOptions) {
    return this.own.during([one(container, name)], () => this.store.putObject(container, name, src, opts));
  }
  deleteObject(container: string, name: string) {
    return this.own.during([one(container, name)], () => this.store.deleteObject(container, name));
  }
  setObjectMeta(container: string, name: string, set: Metadata) {
    return this.own.during([one(container, name)], () => this.store.setObjectMeta(container, name, set));
  }
  makeDirectory(container: string, dir: string, meta: Metadata) {
    return this.own.during([one(container, dir)], () => this.store.makeDirectory(container, dir, meta));
  }
  removeDirectory(container: string, dir: string) {
    return this.own.during([one(container, dir)], () => this.store.removeDirectory(container, dir));
  }
  renameObject(container: string, from: string, to: string) {
    return this.own.during([one(container, from), one(container, to)], () => this.store.renameObject(container, from, to));
  }
  renameDirectory(container: string, from: string, to: string) {
    return this.own.during([tree(container, from), tree(container, to)], () => this.store.renameDirectory(container, from, to));
  }
  sync() {
    return this.store.sync();
  }
  subscribe(listener: ChangeListener) {
    return this.store.subscribe(listener);
  }
  close() {
    return this.store.close();
  }
}
