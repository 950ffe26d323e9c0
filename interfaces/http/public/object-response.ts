/**
 * The public hot path: an object's response headers are built once per cached record
 * (the read cache hands out the same record instance until the change feed drops it,
 * so a WeakMap keyed by the record is invalidated exactly when the cache is) and sent
 * with one writeHead + end(buffer).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { AccountRecord, ContainerRecord, ObjectRecord } from '../../../src/core/types.ts';
import { conditionalStatus } from '../conditional.ts';
import { SYSMETA } from '../context.ts';
import { ETAG_QUOTER_DEFAULT } from '../etag-quoter.ts';
import { lastModifiedSeconds, objectHeaders } from '../object.ts';
import { contentRange, parseRange, rangesForLength } from '../ranges.ts';
import { type HeaderList, newTransId } from '../response.ts';

export interface Prepared {
  record: ObjectRecord;
  /** What it was built against: a changed container or account record rebuilds it. */
  container: ContainerRecord;
  account: AccountRecord | undefined;
  headers: HeaderList;
  /** headers + Content-Length + two trans-id slots, flat for writeHead. */
  flat: string[];
  lastModified: number;
}

const prepared = new WeakMap<ObjectRecord, Prepared>();

/** Swift's etag_quoter: the container's setting, else the account's. */
export function quotesEtags(cont: ContainerRecord, acct: AccountRecord | undefined): boolean {
  const flag = cont.sysmeta[SYSMETA.rfcEtags] ?? acct?.sysmeta[SYSMETA.rfcEtags];
  return flag === undefined ? ETAG_QUOTER_DEFAULT : flag.toLowerCase() === 'true';
}

/** Whether quoting depends on the account record (only then is it read). */
export function needsAccount(cont: ContainerRecord): boolean {
  return cont.sysmeta[SYSMETA.rfcEtags] === undefined;
}

export function prepare(rec: ObjectRecord, cont: ContainerRecord, acct: AccountRecord | undefined): Prepared {
  const hit = prepared.get(rec);
  if (hit && hit.container === cont && hit.account === acct) return hit;
  const headers: HeaderList = [];
  objectHeaders(rec, headers);
  if (quotesEtags(cont, acct)) {
    const i = headers.findIndex(([k]) => k === 'Etag');
    if (i >= 0) headers[i] = ['Etag', `"${rec.etag}"`];
  }
  // The container's default lets a whole site be cached downstream without touching each object.
  const defaultCc = cont.meta['cache-control'];
  if (rec.headers['cache-control'] === undefined && defaultCc) headers.push(['Cache-Control', defaultCc]);
  const flat: string[] = [];
  for (const [k, v] of headers) flat.push(k, v);
  flat.push('Content-Length', String(rec.size), 'X-Trans-Id', '', 'X-Openstack-Request-Id', '');
  const p: Prepared = { record: rec, container: cont, account: acct, headers, flat, lastModified: lastModifiedSeconds(rec) };
  prepared.set(rec, p);
  return p;
}

/** Writes the prepared head; the trans-id slots are filled in place (writeHead copies them at once). */
export function writePreparedHead(res: ServerResponse, p: Prepared, status: number): void {
  const flat = p.flat;
  const tx = newTransId();
  flat[flat.length - 3] = tx;
  flat[flat.length - 1] = tx;
  res.writeHead(status, flat);
}

function writeList(res: ServerResponse, status: number, headers: HeaderList): void {
  const flat: string[] = [];
  const tx = newTransId();
  for (const [k, v] of headers) flat.push(k, v);
  flat.push('X-Trans-Id', tx, 'X-Openstack-Request-Id', tx);
  res.writeHead(status, flat);
}

export function hasConditionals(h: IncomingHttpHeaders): boolean {
  return h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined;
}

/** 304/412 answered here; undefined: go on. */
export function answerConditional(res: ServerResponse, h: IncomingHttpHeaders, p: Prepared): boolean {
  const cond = conditionalStatus(h, p.record.etag, p.lastModified);
  if (cond === undefined) return false;
  if (cond === 304) writeList(res, 304, [...p.headers, ['Content-Length', '0']]);
  else writeList(res, 412, [['Content-Type', 'text/html; charset=UTF-8'], ['Content-Length', '0']]);
  res.end();
  return true;
}

/**
 * A single satisfiable range of in-memory bytes → 206. false: not that simple case
 * (several ranges, 416, or an ignorable header) — the caller hands it to the Swift path.
 */
export function answerSimpleRange(res: ServerResponse, range: string, p: Prepared, bytes: Buffer): boolean | 'ignore' {
  const ranges = rangesForLength(parseRange(range), bytes.length);
  if (ranges === undefined || (bytes.length === 0 && ranges.length > 0)) return 'ignore';
  if (ranges.length !== 1) return false;
  const [start, end] = ranges[0] as [number, number];
  writeList(res, 206, [...p.headers, ['Content-Range', contentRange(start, end, bytes.length)], ['Content-Length', String(end - start)]]);
  res.end(bytes.subarray(start, end));
  return true;
}

/** Streams bytes that are not in memory (large objects) under the prepared head. */
export async function streamPrepared(res: ServerResponse, p: Prepared, status: number, body: NodeJS.ReadableStream): Promise<void> {
  writePreparedHead(res, p, status);
  try {
    await pipeline(body, res);
  } catch {
    res.destroy();
  }
}
