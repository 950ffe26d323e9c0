/**
 * The account change stream, for remote FUSE mounts (and any client that keeps a cache):
 * `GET /v1/AUTH_x?changes[&heartbeat=SECONDS]` answers 200 `application/x-ndjson` and
 * stays open. One JSON object per line:
 *
 *   {"type":"reset"}                      first line, and whenever events may have been missed
 *   {"type":"change","kind":"object","op":"put","container":"c","object":"a/b"}
 *   {"type":"heartbeat"}                  every `heartbeat` seconds (default 15)
 *
 * `kind` is object | container | account, `op` put | update | delete (as the core's
 * change feed). A client drops its whole cache on `reset` — sent on every (re)connect, so
 * a missed event can never leave it stale — and on `kind: account`. Lines are written
 * from the feed's subscriber, i.e. before the writer of the change is answered.
 *
 * Only a token that may GET the account (owner/admin, reseller admin/reader, account
 * ACL) gets a stream; the same check runs again on every heartbeat and after user and
 * account changes, and a stream that fails it ends (the client's reconnect then gets
 * 401/403). `changes` is no Swift listing parameter: plain Swift ignores it and answers
 * a listing, which clients recognise by its content type.
 */
import type { ChangeEvent } from '../../src/core/change-feed.ts';
import { authenticate, requireAccess } from './access.ts';
import type { Ctx, HttpDeps } from './context.ts';
import { HttpError, httpErrors } from './errors.ts';

export const CHANGES_PARAM = 'changes';
export const CHANGES_CONTENT_TYPE = 'application/x-ndjson';

/** Process-wide knobs (tests lower them). */
export const changeStreamLimits = {
  /** Concurrent streams per process; more → 503. */
  maxStreams: 1000,
  defaultHeartbeatMs: 15_000,
  minHeartbeatMs: 200,
  maxHeartbeatMs: 300_000,
  /** A client that reads slower than events come is cut off (it resets on reconnect). */
  maxBufferedBytes: 1024 * 1024,
};

/** The shared feed's "you may have missed events: drop everything" (see pg/change-feed.ts). */
const FLUSH_ALL_ACCOUNT = '*';
const RESET_LINE = '{"type":"reset"}\n';
const HEARTBEAT_LINE = '{"type":"heartbeat"}\n';

interface Stream {
  end(): void;
}

/** Open streams per app (deps), so closing one server ends only its own. */
const byApp = new WeakMap<HttpDeps, Set<Stream>>();
let openStreams = 0;

export function isChangeStreamRequest(ctx: Ctx): boolean {
  return ctx.method === 'GET' && ctx.query.has(CHANGES_PARAM);
}

/** Ends every stream of this app cleanly: called before the server closes (app.ts). */
export function endChangeStreams(deps: HttpDeps): void {
  const set = byApp.get(deps);
  if (!set) return;
  for (const s of [...set]) s.end();
}

export async function handleChangeStream(ctx: Ctx): Promise<void> {
  // The account listing's own check: whoever may read the whole account.
  await requireAccess(ctx);
  if (openStreams >= changeStreamLimits.maxStreams) throw new HttpError(503, undefined, undefined, [['Retry-After', '10']]);
  const heartbeatMs = heartbeatOf(ctx.query.get('heartbeat'));
  const { res, req } = ctx;
  // Each line must leave at once, not wait for more bytes (Nagle).
  req.socket.setNoDelay(true);

  let set = byApp.get(ctx.deps);
  if (!set) byApp.set(ctx.deps, (set = new Set()));
  const streams = set;
  let done = false;
  let rechecking = false;
  const write = (text: string): void => {
    if (done) return;
    res.write(text);
    if (res.writableLength > changeStreamLimits.maxBufferedBytes) abort();
  };
  const cleanup = (): boolean => {
    if (done) return false;
    done = true;
    openStreams--;
    streams.delete(stream);
    unsubscribe();
    clearInterval(timer);
    return true;
  };
  // Clean end (server shutdown, access gone): the chunked body is terminated properly.
  const stream: Stream = { end: () => cleanup() && res.end() };
  const abort = (): void => {
    if (cleanup()) res.destroy();
  };
  // Access may have been withdrawn (user removed, key changed, token expired, account ACL edited).
  const recheck = (): void => {
    if (rechecking || done) return;
    rechecking = true;
    void (async () => {
      try {
        const identity = await authenticate(ctx.deps.tokens, req, ctx.account);
        await requireAccess({ ...ctx, identity, reseller: identity?.isResellerAdmin === true });
      } catch {
        stream.end();
      } finally {
        rechecking = false;
      }
    })();
  };

  // Subscribed and reset written in one tick: no event can fall between the two.
  const unsubscribe = ctx.deps.namespace.feed.subscribe((events) => {
    const text = linesOf(ctx.account, events, recheck);
    if (text) write(text);
  });
  const timer = setInterval(() => {
    write(HEARTBEAT_LINE);
    recheck();
  }, heartbeatMs);
  timer.unref();
  openStreams++;
  streams.add(stream);
  res.on('close', abort);
  res.on('error', abort);
  // The last request on its connection: once the stream ends, so does the socket.
  res.shouldKeepAlive = false;
  res.writeHead(200, [
    'Content-Type', `${CHANGES_CONTENT_TYPE}; charset=utf-8`,
    'Cache-Control', 'no-store',
    'X-Accel-Buffering', 'no',
    'Connection', 'close',
    'X-Trans-Id', ctx.transId,
    'X-Openstack-Request-Id', ctx.transId,
  ]);
  write(RESET_LINE);
}

/** The lines for one batch of feed events, for one account; `recheck` on user/account changes. */
function linesOf(account: string, events: readonly ChangeEvent[], recheck: () => void): string {
  let out = '';
  let reset = false;
  for (const e of events) {
    if (e.account === FLUSH_ALL_ACCOUNT) {
      reset = true;
      continue;
    }
    // A user's key or groups changed (any account: reseller admins read others' accounts).
    if (e.kind === 'user') {
      recheck();
      continue;
    }
    if (e.account !== account || e.kind === 'domain') continue;
    if (e.kind === 'account') recheck();
    const line: Record<string, string> = { type: 'change', kind: e.kind, op: e.op };
    if (e.container !== undefined) line.container = e.container;
    if (e.object !== undefined) line.object = e.object;
    out += `${JSON.stringify(line)}\n`;
  }
  // A reset covers everything else in the batch.
  return reset ? RESET_LINE : out;
}

function heartbeatOf(v: string | undefined): number {
  if (v === undefined || v === '') return changeStreamLimits.defaultHeartbeatMs;
  const s = Number(v);
  if (!Number.isFinite(s)) throw httpErrors.badRequest('heartbeat must be a number of seconds');
  return Math.min(changeStreamLimits.maxHeartbeatMs, Math.max(changeStreamLimits.minHeartbeatMs, Math.round(s * 1000)));
}
