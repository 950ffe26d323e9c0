/**
 * Loading fuse-native: a clear error when FUSE is unusable, and a fix for its utimens
 * bug. fuse-native 2.2.6 hands JavaScript the access time twice (its dispatcher reads
 * `l->atime` for both argument pairs), so the modification time of utimensat(2) never
 * arrives and `rsync -a`/`cp -p` could not keep mtimes. For the exact prebuilt we know
 * (checked by SHA-256 and by the instruction bytes), one displacement byte turns the
 * second `mov 0x68(%r13),%r13` (l->atime) into `mov 0x70(%r13),%r13` (l->mtime). The
 * fixed copy is loaded from a private temp dir in place of the prebuilt — and in place of
 * whatever file node-gyp-build would pick: `npm ci` on a machine without libfuse.so.2
 * yet compiles fuse-native from source (build/Release/fuse.node, same bug, other bytes),
 * and node-gyp-build prefers that build. Any other prebuilt loads unchanged and
 * `utimensFixed` is false.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FuseConstructor } from './fuse-native.d.ts';

const require = createRequire(import.meta.url);

const KNOWN_PREBUILT = {
  arch: 'x64',
  sha256: '0852320a710f20cb7f5be2ededbdcce714e88a849ae317609f734766d23e18fd',
  /** `4d 8b 6d 68` = mov 0x68(%r13),%r13 in the utimens dispatcher. */
  at: 0x436c,
  expect: Buffer.from([0x4d, 0x8b, 0x6d, 0x68]),
  fixedByte: 0x70,
};

export class FuseUnavailableError extends Error {
  constructor(reason: string) {
    super(
      `FUSE is not available: ${reason}. On Debian/Ubuntu install it with ` +
        '`apt-get install fuse3 libfuse2` (fuse3 provides fusermount, libfuse2 the library ' +
        'fuse-native loads; do not install the old `fuse` package, it conflicts with fuse3).',
    );
    this.name = 'FuseUnavailableError';
  }
}

export interface LoadedFuse {
  Fuse: FuseConstructor;
  /** False when the binding's utimens still reports atime as mtime. */
  utimensFixed: boolean;
}

let loaded: LoadedFuse | undefined;

export function loadFuse(): LoadedFuse {
  if (loaded) return loaded;
  if (process.platform !== 'linux') throw new FuseUnavailableError(`FUSE mounts are supported on Linux only (this is ${process.platform})`);
  if (!existsSync('/dev/fuse')) throw new FuseUnavailableError('/dev/fuse is missing (in a container, run it with --device /dev/fuse --cap-add SYS_ADMIN)');
  const utimensFixed = preloadFixedBinding();
  let Fuse: FuseConstructor;
  try {
    Fuse = require('fuse-native') as FuseConstructor;
  } catch (err) {
    const msg = (err as Error).message;
    throw new FuseUnavailableError(/libfuse\.so/.test(msg) ? 'libfuse.so.2 could not be loaded' : `fuse-native did not load (${msg})`);
  }
  loaded = { Fuse, utimensFixed };
  return loaded;
}

/** Puts the fixed binding into require's cache under the prebuilt's path. */
function preloadFixedBinding(): boolean {
  if (process.arch !== KNOWN_PREBUILT.arch) return false;
  let prebuilt: string;
  let chosen: string;
  try {
    const pkg = dirname(require.resolve('fuse-native/package.json'));
    prebuilt = realpathSync(join(pkg, 'prebuilds', `linux-${process.arch}`, 'node.napi.node'));
    // The file fuse-native's own `require('node-gyp-build')(__dirname)` will load.
    const nodeGypBuild = createRequire(join(pkg, 'package.json'))('node-gyp-build') as { path(dir: string): string };
    chosen = realpathSync(nodeGypBuild.path(pkg));
  } catch {
    return false;
  }
  if (require.cache[prebuilt] || require.cache[chosen]) return false; // already loaded as shipped
  const bytes = readFileSync(prebuilt);
  if (createHash('sha256').update(bytes).digest('hex') !== KNOWN_PREBUILT.sha256) return false;
  const { at, expect, fixedByte } = KNOWN_PREBUILT;
  if (!bytes.subarray(at, at + expect.length).equals(expect)) return false;
  bytes[at + expect.length - 1] = fixedByte;
  // A private directory per process: nobody else can swap the file before dlopen.
  const dir = mkdtempSync(join(tmpdir(), 'swiftgate-fuse-native-'));
  try {
    const file = join(dir, 'node.napi.node');
    writeFileSync(file, bytes, { mode: 0o500 });
    const mod = new Module(prebuilt);
    process.dlopen(mod, file);
    mod.filename = prebuilt;
    mod.loaded = true;
    require.cache[prebuilt] = mod;
    require.cache[chosen] = mod;
    return true;
  } catch {
    return false;
  } finally {
    // The mapping stays valid after the file is gone.
    rmSync(dir, { recursive: true, force: true });
  }
}
