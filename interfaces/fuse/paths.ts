/**
 * FUSE paths → places in the store. A mount shows either a whole account
 * (containers are the top-level directories) or one container as its root.
 */
import { Errno, fsError } from './errno.ts';

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

  /** The FUSE path of an object, if this mount shows it. */
  pathOf(container: string, key: string): string | undefined {
    if (this.container !== undefined) return container === this.container ? `/${key}` : undefined;
    return `/${container}/${key}`;
  }
}

/** `a/b/c` → `a/b`; top level → ''. */
export function parentKey(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}
