/**
 * FTP throughput: swiftgate's FTP view vs vsftpd (the native ceiling), same clients,
 * same loopback, same run. 200 MiB upload/download (lftp, curl) and 1,000 × 4 KiB
 * uploads (lftp mirror -R). Every client call is bounded; servers are ours and stopped.
 *
 *   node --import tsx bench/ftp.ts        env: BIG_MB=200 NSMALL=1000 REPS=3 TMO=120
 *
 * vsftpd (Debian `vsftpd`, needs root) runs anonymous-writable over a temp dir with a
 * config of its own, as /work/shared/reference/peers/bench.sh does; if it is missing
 * its column says n/a.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/config.ts';
import { openCore } from '../src/core.ts';
import { startFtp } from '../interfaces/ftp/index.ts';

const BIG_MB = Number(process.env.BIG_MB ?? 200);
const NSMALL = Number(process.env.NSMALL ?? 1000);
const REPS = Number(process.env.REPS ?? 3);
const TMO = Number(process.env.TMO ?? 120) * 1000;
const BIG = BIG_MB * 1024 * 1024;

interface Target {
  name: string;
  port: number;
  user: string;
  pass: string;
  /** Writable directory, as the client sees it. */
  dir: string;
  /** Size of an uploaded file, from the server's side. */
  sizeOf(name: string): Promise<number | undefined>;
}

const base = mkdtempSync(join(tmpdir(), 'sg-bench-ftp-'));
const children: ChildProcess[] = [];

function sh(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: TMO, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err) => {
      if (err) process.stderr.write(`  ! ${cmd} failed: ${String(err.message).split('\n')[0]}\n`);
      resolve(err ? -1 : 0);
    });
  });
}

async function timed(cmd: string, args: string[]): Promise<number | undefined> {
  const t0 = performance.now();
  const rc = await sh(cmd, args);
  return rc === 0 ? (performance.now() - t0) / 1000 : undefined;
}

const median = (xs: Array<number | undefined>): number | undefined => {
  const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function makeData(): { big: string; small: string } {
  const big = join(base, 'big.bin');
  const small = join(base, 'small');
  mkdirSync(small);
  const chunk = randomBytes(1024 * 1024);
  const parts: Buffer[] = [];
  for (let i = 0; i < BIG_MB; i++) parts.push(Buffer.from(chunk.map((b) => b ^ i)));
  writeFileSync(big, Buffer.concat(parts));
  for (let i = 0; i < NSMALL; i++) writeFileSync(join(small, `f${String(i).padStart(4, '0')}.dat`), randomBytes(4096));
  return { big, small };
}

async function startSwiftgate(pasv: number): Promise<{ target: Target; close(): Promise<void> }> {
  const config = defaultConfig();
  config.dataDir = join(base, 'swiftgate');
  config.http.enabled = false;
  const port = await freePort();
  config.ftp = { ...config.ftp, enabled: true, host: '127.0.0.1', port, pasvPortMin: pasv, pasvPortMax: pasv + 99 };
  mkdirSync(config.dataDir, { recursive: true });
  const core = await openCore(config, 'owner');
  await core.users.addUser({ account: 'bench', user: 'bench', key: 'bench-key', admin: true });
  await core.namespace.createContainer('AUTH_bench', 'pub');
  const ftp = await startFtp(core, config);
  return {
    target: {
      name: 'swiftgate',
      port,
      user: 'bench:bench',
      pass: 'bench-key',
      dir: '/pub',
      sizeOf: async (name) => (await core.namespace.getObject('AUTH_bench', 'pub', name))?.size,
    },
    async close() {
      await ftp.close();
      await core.close();
    },
  };
}

async function startVsftpd(pasv: number): Promise<{ target: Target; close(): Promise<void> } | undefined> {
  const bin = ['/usr/sbin/vsftpd', '/usr/bin/vsftpd'].find((p) => existsSync(p));
  if (!bin || process.getuid?.() !== 0) return undefined;
  const root = join(base, 'vsftpd-root');
  const empty = join(base, 'vsftpd-empty');
  mkdirSync(join(root, 'pub'), { recursive: true });
  mkdirSync(empty, { recursive: true });
  chmodSync(base, 0o755);
  chmodSync(root, 0o755);
  try {
    const { execFileSync } = await import('node:child_process');
    const ftpUid = Number(execFileSync('id', ['-u', 'ftp']).toString().trim());
    const ftpGid = Number(execFileSync('id', ['-g', 'ftp']).toString().trim());
    chownSync(join(root, 'pub'), ftpUid, ftpGid);
  } catch {
    return undefined;
  }
  const port = await freePort();
  const conf = join(base, 'vsftpd.conf');
  writeFileSync(
    conf,
    [
      'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
      'anonymous_enable=YES', 'no_anon_password=YES', `anon_root=${root}`, 'ftp_username=ftp', 'local_enable=NO',
      'write_enable=YES', 'anon_upload_enable=YES', 'anon_mkdir_write_enable=YES', 'anon_other_write_enable=YES',
      'anon_umask=022', `secure_chroot_dir=${empty}`, 'pasv_enable=YES', 'pasv_address=127.0.0.1',
      `pasv_min_port=${pasv}`, `pasv_max_port=${pasv + 99}`, 'connect_from_port_20=NO', 'xferlog_enable=NO',
      'syslog_enable=NO', 'max_clients=0', 'max_per_ip=0', 'use_sendfile=YES', 'seccomp_sandbox=NO', 'isolate=NO',
      'isolate_network=NO', '',
    ].join('\n'),
  );
  const child = spawn('timeout', ['3600', bin, conf], { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 50; i++) {
    if (!(await portFree(port))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    target: {
      name: 'vsftpd',
      port,
      user: 'anonymous',
      pass: 'bench@example.com',
      dir: '/pub',
      sizeOf: async (name) => {
        try {
          return statSync(join(root, 'pub', name)).size;
        } catch {
          return undefined;
        }
      },
    },
    async close() {
      child.kill('SIGTERM');
    },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

type Row = Record<string, number | undefined>;

async function measure(t: Target, data: { big: string; small: string }): Promise<Row> {
  const pre = `set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 30; set ftp:ssl-allow no; set ftp:passive-mode on; set xfer:clobber on; open -u '${t.user}','${t.pass}' ftp://127.0.0.1:${t.port}; cd ${t.dir}`;
  const [cu, ca] = t.user.includes(':') ? [t.user.split(':')[1], t.user.split(':')[0]] : [t.user, ''];
  const curlUser = ca ? `${cu}@${ca}:${t.pass}` : `${t.user}:${t.pass}`;
  const url = `ftp://127.0.0.1:${t.port}${t.dir}`;
  const mbps = (s: number | undefined) => (s === undefined ? undefined : BIG / 1e6 / s);
  const r: Record<string, Array<number | undefined>> = { upL: [], downL: [], upC: [], downC: [], small: [] };
  for (let rep = 0; rep < REPS; rep++) {
    let s = await timed('lftp', ['-c', `${pre}; put ${data.big} -o big-lftp.bin`]);
    if ((await t.sizeOf('big-lftp.bin')) !== BIG) s = undefined;
    r.upL?.push(mbps(s));
    r.downL?.push(mbps(await timed('lftp', ['-c', `${pre}; get big-lftp.bin -o /dev/null`])));
    s = await timed('curl', ['-sS', '-u', curlUser, '-T', data.big, `${url}/big-curl.bin`]);
    if ((await t.sizeOf('big-curl.bin')) !== BIG) s = undefined;
    r.upC?.push(mbps(s));
    r.downC?.push(mbps(await timed('curl', ['-sS', '-u', curlUser, '-o', '/dev/null', `${url}/big-curl.bin`])));
    s = await timed('lftp', ['-c', `${pre}; mirror -R --no-perms --parallel=1 ${data.small} small-r${rep}`]);
    if ((await t.sizeOf(`small-r${rep}/f${String(NSMALL - 1).padStart(4, '0')}.dat`)) !== 4096) s = undefined;
    r.small?.push(s === undefined ? undefined : NSMALL / s);
  }
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
}

async function main(): Promise<void> {
  const hardStop = setTimeout(() => {
    process.stderr.write('bench/ftp: time limit reached\n');
    cleanup();
    process.exit(2);
  }, 30 * 60 * 1000);
  hardStop.unref();
  process.stderr.write(`bench/ftp: ${BIG_MB} MiB file, ${NSMALL} × 4 KiB, ${REPS} reps, data in ${base}\n`);
  const data = makeData();
  const results: Record<string, Row> = {};
  const pasv = 26100;
  const vs = await startVsftpd(pasv);
  if (vs) {
    results.vsftpd = await measure(vs.target, data);
    await vs.close();
  } else {
    process.stderr.write('bench/ftp: vsftpd not available (apt-get install -y vsftpd; needs root)\n');
  }
  const sg = await startSwiftgate(pasv + 100);
  results.swiftgate = await measure(sg.target, data);
  await sg.close();

  const rows: Array<[string, string, string, number]> = [
    [`upload ${BIG_MB} MiB (lftp)`, 'upL', 'MB/s', 0.8],
    [`download ${BIG_MB} MiB (lftp)`, 'downL', 'MB/s', 0.8],
    [`upload ${BIG_MB} MiB (curl)`, 'upC', 'MB/s', 0.8],
    [`download ${BIG_MB} MiB (curl)`, 'downC', 'MB/s', 0.8],
    [`${NSMALL} × 4 KiB uploads (lftp mirror -R)`, 'small', 'files/s', 0.5],
  ];
  const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
  const out = [`${'metric'.padEnd(40)} ${'unit'.padEnd(8)} ${'swiftgate'.padStart(10)} ${'vsftpd'.padStart(10)} ${'ratio'.padStart(7)}  goal`];
  for (const [label, key, unit, goal] of rows) {
    const a = results.swiftgate?.[key];
    const b = results.vsftpd?.[key];
    const ratio = a !== undefined && b ? a / b : undefined;
    out.push(`${label.padEnd(40)} ${unit.padEnd(8)} ${fmt(a).padStart(10)} ${fmt(b).padStart(10)} ${(ratio === undefined ? 'n/a' : ratio.toFixed(2)).padStart(7)}  ≥${goal}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  cleanup();
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(base, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/ftp: ${(err as Error).message}\n`);
  cleanup();
  process.exit(1);
});
