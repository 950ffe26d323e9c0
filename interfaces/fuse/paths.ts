/**
 * FUSE paths → places in the store. A mount shows either a whole account
 * (containers are the top-level directories) or one container as its root.
 */
import { Errno, fsError } from './errno.ts';
import type { MountChange } from './backend.ts';

export type Target =
  /** The mount root of an account mount. */
  | { kind: 'account' }
  /** A container as a directory: the root of a container mount, or a top-level dir. */
  | { kind: 'container'; container: string; isMountRoot: boolean }
  /** Anything inside a container: `key` is the object name without trailing slash. */
  | { kind: 'entry'; container: string; key: string };

export type EntryTarget = Extract<Target, { kind: 'entry' }>;

export class PathMap {
  readonly container: string | undefined;

  constructor(container?: string) {
    this.container = container;
  }

  resolve(path: string): Target {
    const rel = path.replace(/^\/+/, '');
    if (this.container !== undefined) {
      return rel === '' ? { kind: 'container', container: this.container, isMountRoot: true } : { kind: 'entry', container: this.container, key: rel };
    }
    if (rel === '') return { kind: 'account' };
    const slash = rel.indexOf('/');
    if (slash < 0) return { kind: 'container', container: rel, isMountRoot: false };
    return { kind: 'entry', container: rel.slice(0, slash), key: rel.slice(slash + 1) };
  }

  /** The target of a path that must name something inside a container. */
  entry(path: string, what: string): EntryTarget {
    const t = this.resolve(path);
    if (t.kind !== 'entry') throw fsError(Errno.EPERM, `${what}: ${path} is not inside a container`);
    return t;
  }

  /** The FUSE path a change is about ('/' for the mount root), if this mount shows it. */
  pathOfChange(c: Exclude<MountChange, { kind: 'all' }>): string | undefined {
    if (c.kind === 'object') return this.pathOf(c.container, c.name.replace(/\/+$/, ''));
    const p = this.pathOf(c.container, '');
    return p === undefined || p === '/' ? p : p.replace(/\/$/, '');
  }

  /** The FUSE path of an object, if this mount shows it. */
  pathOf(container: string, key: string): string | undefined {
    if (this.container !== undefined) return container === this.container ? `/${key}` : undefined;
    return `/${container}/${key}`;
  }
}

/** '/a/b' → '/a' → '/' → undefined. */
export function parentPath(p: string): string | undefined {
  if (p === '/' || p === '') return undefined;
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** `a/b/c` → `a/b`; top level → ''. */
export function parentKey(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}
