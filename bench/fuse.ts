/**
 * FUSE benchmark: swiftgate's local-mode mount, its remote-mode mount (over a gateway's
 * HTTP API on this host, the mount in a child process), `rclone mount` over a local
 * directory and a plain local directory, in the same run, with the same commands as
 * shared/reference/peers/bench.sh (fuse section):
 *   sequential write and read of a BIG_MB file (dd bs=1M), creating NSMALL 4 KiB files
 *   (bash printf > f), `ls -l` and `find` over them.
 * This VM's timings swing ±2× from run to run, so every target runs REPS times (default
 * 3), the targets taking turns, and the table shows medians.
 * Every command is bounded (TMO seconds). Env: BIG_MB=200 NSMALL=1000 TMO=300 REPS=3
 * RCLONE=1 (0 skips rclone) REMOTE=1 (0 skips remote mode) ONLY=name,… (run only these
 * of local,rclone,swiftgate,sg-remote) ATTR_TIMEOUT=N (kernel cache seconds for swiftgate; default: the mount's own default). Run: npm run bench:fuse (as root: drops the page cache
 * before the cold read when it can).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountLocal } from '../interfaces/fuse/index.ts';
import { defaultConfig } from '../src/config.ts';
import { openCore } from '../src/core.ts';
import { startGateway } from '../src/server.ts';

const BIG_MB = Number(process.env.BIG_MB ?? 200);
const NSMALL = Number(process.env.NSMALL ?? 1000);
const TMO = Number(process.env.TMO ?? 300);
const REPS = Math.max(1, Number(process.env.REPS ?? 3));
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : undefined;
const wanted = (name: string) => ONLY === undefined || ONLY.has(name);
const WITH_RCLONE = process.env.RCLONE !== '0' && wanted('rclone');
const WITH_REMOTE = process.env.REMOTE !== '0' && wanted('sg-remote');
/** Kernel attr/entry cache seconds for the swiftgate mount (default 0: changes show at once). */
const ATTR_TIMEOUT = process.env.ATTR_TIMEOUT === undefined ? undefined : Number(process.env.ATTR_TIMEOUT);

interface Row {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  values: Map<string, number | undefined>;
}

function sh(cmd: string): Promise<{ code: number; out: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile('bash', ['-c', cmd], { timeout: TMO * 1000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      resolve({ code: err ? 1 : 0, out: stdout.toString(), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function dropCaches(): Promise<void> {
  await sh('sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null');
}

/** The benchmark steps on directory `dir`; returns metric → value (undefined = failed). */
async function run(dir: string): Promise<Map<string, number | undefined>> {
  const r = new Map<string, number | undefined>();
  const big = BIG_MB * 1048576;
  const mbps = (s: { code: number; seconds: number }) => (s.code === 0 ? big / 1e6 / s.seconds : undefined);
  r.set('write', mbps(await sh(`dd if=/dev/zero of=${q(`${dir}/big.bin`)} bs=1M count=${BIG_MB} conv=fsync status=none`)));
  await dropCaches();
  r.set('read-cold', mbps(await sh(`dd if=${q(`${dir}/big.bin`)} of=/dev/null bs=1M status=none`)));
  r.set('read-warm', mbps(await sh(`dd if=${q(`${dir}/big.bin`)} of=/dev/null bs=1M status=none`)));
  const create = await sh(
    `mkdir ${q(`${dir}/small`)} && FOUR=$(head -c 4096 /dev/zero | tr '\\0' x) && for ((i = 0; i < ${NSMALL}; i++)); do printf '%s' "$FOUR" > ${q(`${dir}/small`)}/f$i.dat || exit 1; done`,
  );
  r.set('create', create.code === 0 ? create.seconds : undefined);
  const ls = await sh(`ls -l ${q(`${dir}/small`)} | grep -c '\\.dat$'`);
  r.set('ls', ls.code === 0 && ls.out.trim() === String(NSMALL) ? ls.seconds * 1000 : undefined);
  const ls2 = await sh(`ls -l ${q(`${dir}/small`)} | grep -c '\\.dat$'`);
  r.set('ls-warm', ls2.code === 0 && ls2.out.trim() === String(NSMALL) ? ls2.seconds * 1000 : undefined);
  const find = await sh(`find ${q(`${dir}/small`)} -type f | grep -c '\\.dat$'`);
  r.set('find', find.code === 0 && find.out.trim() === String(NSMALL) ? find.seconds * 1000 : undefined);
  await sh(`rm -rf ${q(`${dir}/small`)} ${q(`${dir}/big.bin`)}`);
  return r;
}

async function waitMounted(dir: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await sh(`mountpoint -q ${q(dir)}`)).code === 0) return true;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return false;
}

async function withRclone(base: string): Promise<Map<string, number | undefined> | undefined> {
  if ((await sh('command -v rclone')).code !== 0) return undefined;
  const src = join(base, 'rclone-src');
  const mnt = join(base, 'rclone-mnt');
  const conf = join(base, 'rclone.conf');
  await mkdir(src, { recursive: true });
  await mkdir(mnt, { recursive: true });
  await writeFile(conf, '');
  const child: ChildProcess = spawn('timeout', [String(TMO * 4), 'rclone', 'mount', src, mnt, '--config', conf, '--vfs-cache-mode', 'off', '--log-level', 'ERROR'], {
    stdio: 'ignore',
  });
  try {
    if (!(await waitMounted(mnt))) return undefined;
    return await run(mnt);
  } finally {
    await sh(`fusermount -uz ${q(mnt)} 2>/dev/null`);
    child.kill('SIGTERM');
  }
}

async function withSwiftgate(base: string): Promise<Map<string, number | undefined>> {
  const config = { ...defaultConfig(), dataDir: join(base, 'sg-data') };
  const core = await openCore(config, 'owner');
  await core.namespace.createAccount('AUTH_bench');
  await core.namespace.createContainer('AUTH_bench', 'bench');
  const mnt = join(base, 'sg-mnt');
  const view = await mountLocal(core, mnt, config, { account: 'AUTH_bench', container: 'bench', ...(ATTR_TIMEOUT !== undefined ? { attrTimeout: ATTR_TIMEOUT, entryTimeout: ATTR_TIMEOUT } : {}) });
  try {
    return await run(mnt);
  } finally {
    await view.close();
    await sh(`fusermount -uz ${q(mnt)} 2>/dev/null`);
    await core.close();
  }
}

/** Remote mode: a gateway with HTTP here, `swiftgate mount --remote` as a child process. */
async function withRemote(base: string): Promise<Map<string, number | undefined> | undefined> {
  const config = defaultConfig();
  config.dataDir = join(base, 'sg-remote-data');
  config.http.host = '127.0.0.1';
  config.http.port = 0;
  config.http.workers = 1;
  const gw = await startGateway(config, { quiet: true });
  const mnt = join(base, 'sg-remote-mnt');
  let child: ChildProcess | undefined;
  try {
    await gw.core.users.addUser({ account: 'bench', user: 'bench', key: 'bench', admin: true });
    await gw.core.namespace.createAccount('AUTH_bench').catch(() => undefined);
    await gw.core.namespace.createContainer('AUTH_bench', 'bench');
    await mkdir(mnt, { recursive: true });
    const args = ['bin/swiftgate.js', 'mount', mnt, '--remote', gw.httpUrl ?? '', '--user', 'bench:bench', '--key', 'bench', '--container', 'bench'];
    if (ATTR_TIMEOUT !== undefined) args.push('--attr-timeout', String(ATTR_TIMEOUT), '--entry-timeout', String(ATTR_TIMEOUT));
    child = spawn(process.execPath, args, { cwd: join(import.meta.dirname, '..'), stdio: 'ignore' });
    if (!(await waitMounted(mnt))) return undefined;
    return await run(mnt);
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((ok) => child?.once('exit', ok));
    await sh(`fusermount -uz ${q(mnt)} 2>/dev/null`);
    await gw.close();
  }
}

/** The median, or undefined if any run failed (a failure is never hidden by the others). */
function median(values: Array<number | undefined>): number | undefined {
  if (values.length === 0 || values.some((v) => v === undefined)) return undefined;
  const sorted = (values as number[]).slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function table(rows: Row[], targets: string[]): string {
  const fmt = (v: number | undefined) => (v === undefined ? 'FAIL' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
  const ratio = (a: number | undefined, b: number | undefined, hi: boolean) =>
    a === undefined || b === undefined || a === 0 || b === 0 ? '-' : `${(hi ? a / b : b / a).toFixed(2)}x`;
  const head = ['metric', 'unit', ...targets, 'sg/local', ...(targets.includes('rclone') ? ['sg/rclone'] : [])];
  const lines = rows.map((r) => {
    const sg = r.values.get('swiftgate');
    return [
      r.metric,
      r.unit,
      ...targets.map((t) => fmt(r.values.get(t))),
      ratio(sg, r.values.get('local'), r.higherIsBetter),
      ...(targets.includes('rclone') ? [ratio(sg, r.values.get('rclone'), r.higherIsBetter)] : []),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [row(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)].join('\n');
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'sg-bench-fuse-'));
  /** target → metric → one value per rep (undefined: that rep failed). */
  const samples = new Map<string, Map<string, Array<number | undefined>>>();
  const record = (target: string, r: Map<string, number | undefined> | undefined) => {
    if (!r) return;
    const byMetric = samples.get(target) ?? new Map<string, Array<number | undefined>>();
    samples.set(target, byMetric);
    for (const [k, v] of r) byMetric.set(k, [...(byMetric.get(k) ?? []), v]);
  };
  try {
    process.stderr.write(`bench:fuse BIG_MB=${BIG_MB} NSMALL=${NSMALL} REPS=${REPS} ATTR_TIMEOUT=${ATTR_TIMEOUT ?? 'default'} in ${base}\n`);
    for (let rep = 1; rep <= REPS; rep++) {
      const dir = join(base, `rep${rep}`);
      await mkdir(dir);
      if (wanted('local')) {
        const local = join(dir, 'local');
        await mkdir(local);
        process.stderr.write(`… [${rep}/${REPS}] plain local dir\n`);
        record('local', await run(local));
      }
      if (WITH_RCLONE) {
        process.stderr.write(`… [${rep}/${REPS}] rclone mount --vfs-cache-mode off\n`);
        const r = await withRclone(dir);
        if (r) record('rclone', r);
        else process.stderr.write('rclone mount unavailable: skipped\n');
      }
      if (wanted('swiftgate')) {
        process.stderr.write(`… [${rep}/${REPS}] swiftgate local mount\n`);
        record('swiftgate', await withSwiftgate(dir));
      }
      if (WITH_REMOTE) {
        process.stderr.write(`… [${rep}/${REPS}] swiftgate remote mount (HTTP on this host)\n`);
        const r = await withRemote(dir);
        if (r) record('sg-remote', r);
        else process.stderr.write('remote mount did not start: skipped\n');
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  } finally {
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
  const results = new Map<string, Map<string, number | undefined>>();
  for (const [target, byMetric] of samples) results.set(target, new Map([...byMetric].map(([k, vs]) => [k, median(vs)])));
  const metrics: Array<[string, string, string, boolean]> = [
    ['write', `seq write ${BIG_MB} MiB (dd conv=fsync)`, 'MB/s', true],
    ['read-cold', `seq read ${BIG_MB} MiB, cache dropped`, 'MB/s', true],
    ['read-warm', `seq read ${BIG_MB} MiB again`, 'MB/s', true],
    ['create', `create ${NSMALL} x 4 KiB files`, 's', false],
    ['ls', `ls -l ${NSMALL} files`, 'ms', false],
    ['ls-warm', `ls -l ${NSMALL} files again`, 'ms', false],
    ['find', `find ${NSMALL} files`, 'ms', false],
  ];
  const targets = [...results.keys()];
  const rows: Row[] = metrics.map(([key, metric, unit, hi]) => ({
    metric,
    unit,
    higherIsBetter: hi,
    values: new Map(targets.map((t) => [t, results.get(t)?.get(key)])),
  }));
  process.stdout.write(`${table(rows, targets)}\n(medians of ${REPS} runs; ratios: swiftgate = local mode; >1x means swiftgate is better)\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:fuse failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
