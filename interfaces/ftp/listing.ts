/**
 * Directory listings in the formats clients parse: `ls -l` lines for LIST (what
 * FileZilla, WinSCP, Total Commander and lftp understand, modelled on vsftpd's), bare
 * names for NLST, and RFC 3659 facts for MLSD/MLST.
 */

export interface FsEntry {
  name: string;
  kind: 'dir' | 'file';
  size: number;
  mtime: Date;
  /** What this user may do with it (for permission bits and the MLST perm fact). */
  canWrite: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** A name no line-based listing can carry (names are split on CR/LF by every client). */
export function listable(name: string): boolean {
  return !/[\r\n]/.test(name);
}

/** `ls -l` date column, in UTC: "Mar 05 14:22" within six months, else "Mar 05  2023". */
function lsDate(d: Date, now: number): string {
  const head = `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())}`;
  const recent = Math.abs(now - d.getTime()) < SIX_MONTHS_MS;
  return recent ? `${head} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}` : `${head}  ${d.getUTCFullYear()}`;
}

export function listLine(e: FsEntry, now = Date.now()): string {
  const w = e.canWrite ? 'w' : '-';
  const mode = e.kind === 'dir' ? `dr${w}xr-xr-x` : `-r${w}-r--r--`;
  const size = String(e.kind === 'dir' ? 0 : e.size).padStart(12);
  return `${mode}    1 ftp      ftp      ${size} ${lsDate(e.mtime, now)} ${e.name}`;
}

/** YYYYMMDDHHMMSS in UTC (MDTM, MLST modify fact). */
export function ftpTime(d: Date): string {
  return (
    `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`
  );
}

/** RFC 3659 §7 facts; `type` may be cdir/pdir for MLSD's own entries. */
export function mlsxFacts(e: FsEntry, type: 'file' | 'dir' | 'cdir' = e.kind): string {
  const perm = e.kind === 'dir' ? (e.canWrite ? 'elcmdfp' : 'el') : e.canWrite ? 'rwadf' : 'r';
  const size = e.kind === 'file' ? `size=${e.size};` : '';
  return `type=${type};${size}modify=${ftpTime(e.mtime)};perm=${perm};`;
}

export function mlsxLine(e: FsEntry, type?: 'file' | 'dir' | 'cdir'): string {
  return `${mlsxFacts(e, type)} ${e.name}`;
}

/** Swift X-Timestamp ("1700000000.12345") → Date. */
export function timestampToDate(ts: string | undefined): Date {
  const secs = ts === undefined ? NaN : Number(ts);
  return new Date(Number.isFinite(secs) ? Math.floor(secs * 1000) : 0);
}
