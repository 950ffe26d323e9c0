/**
 * Request lines with raw (un-percent-encoded) UTF-8, as python's http.client sends them
 * in Swift's functional tests: served as if percent-encoded, without touching framing.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';
import { type Session, session } from './client.ts';

let h: Harness;
let owner: Session;
let base: string; // /v1/AUTH_test

beforeAll(async () => {
  h = await startHarness();
  owner = await session(h.url, 'test:tester', 'testing');
  base = new URL(owner.storageUrl).pathname;
  await owner.req('PUT', '/raw');
});
afterAll(async () => h.close());

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes the chunks (pausing between them so they arrive as separate reads) and
 * collects everything until the server closes or nothing came for a while.
 */
function exchange(chunks: Buffer[], opts: { idleMs?: number; afterReply?: boolean } = {}): Promise<{ data: Buffer; closedByServer: boolean }> {
  const idleMs = opts.idleMs ?? 1500;
  return new Promise((resolve, reject) => {
    const sock = connect(h.port, '127.0.0.1');
    const got: Buffer[] = [];
    let idle: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      clearTimeout(idle);
      sock.destroy();
      resolve({ data: Buffer.concat(got), closedByServer });
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), idleMs);
    };
    let replied: () => void = () => undefined;
    const reply = new Promise<void>((r) => (replied = r));
    sock.on('data', (d: Buffer) => {
      got.push(d);
      replied();
      arm();
    });
    sock.on('end', () => finish(true));
    sock.on('error', reject);
    sock.on('connect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (i > 0 && opts.afterReply) await reply; // the first answer is out: nothing in flight
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        sock.write(c);
      }
      arm();
    });
  });
}

/** Splits a byte stream into responses (Content-Length framed; `heads` = answers to HEAD). */
function parseResponses(data: Buffer, heads = 0): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) throw new Error(`truncated response: ${data.subarray(at).toString('latin1')}`);
    const [statusLine = '', ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = out.length < heads ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + len).toString('utf8') });
    at = end + 4 + len;
  }
  return out;
}

/** A request with its target as raw UTF-8 bytes (and any extra raw bytes after it). */
function rawReq(method: string, target: string | Buffer, headers: string[] = [], body = ''): Buffer {
  const head = [`X-Auth-Token: ${owner.token}`, 'Host: localhost', ...headers];
  if (body !== '' || method === 'PUT') head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    typeof target === 'string' ? Buffer.from(target, 'utf8') : target,
    Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n${body}`, 'utf8'),
  ]);
}

async function one(chunks: Buffer[], heads = 0): Promise<RawResponse> {
  const { data, closedByServer } = await exchange(chunks);
  const res = parseResponses(data, heads);
  expect(res).toHaveLength(1);
  expect(closedByServer).toBe(true);
  return res[0] as RawResponse;
}

describe('raw UTF-8 request lines', () => {
  const name = 'ünïcødé☃名前'; // a space ends the target: never raw

  it('PUTs and GETs an object whose name is sent as raw UTF-8, then closes the connection', async () => {
    const put = await one([rawReq('PUT', `${base}/raw/${name}`, [], 'hello raw')]);
    expect(put.status).toBe(201);
    expect(put.headers.connection).toBe('close');
    const get = await one([rawReq('GET', `${base}/raw/${name}`)]);
    expect(get.status).toBe(200);
    expect(get.body).toBe('hello raw');
    // The same object through a percent-encoded URL.
    const viaFetch = await owner.req('GET', `/raw/${encodeURIComponent(name)}`);
    expect(viaFetch.status).toBe(200);
    expect(await viaFetch.text()).toBe('hello raw');
    const head = await one([rawReq('HEAD', `${base}/raw/${name}`)], 1);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('9');
  });

  it("treats '?' as the start of the query even in a raw target, as Swift does", async () => {
    const put = await one([rawReq('PUT', `${base}/raw/qé?multipart-manifest=ignored`, [], 'q')]);
    expect(put.status).toBe(201);
    expect((await owner.req('GET', `/raw/${encodeURIComponent('qé')}`)).status).toBe(200);
    expect((await owner.req('GET', `/raw/${encodeURIComponent('qé?multipart-manifest=ignored')}`)).status).toBe(404);
    // Raw bytes in the query are encoded too: a raw UTF-8 prefix filters the listing.
    const list = await one([rawReq('GET', `${base}/raw?prefix=qé&format=json`)]);
    expect(list.status).toBe(200);
    expect((JSON.parse(list.body) as { name: string }[]).map((o) => o.name)).toEqual(['qé']);
  });

  it('creates and lists a container whose name is raw UTF-8', async () => {
    const cname = 'cöntainér☂';
    expect((await one([rawReq('PUT', `${base}/${cname}`)])).status).toBe(201);
    expect((await owner.req('HEAD', `/${encodeURIComponent(cname)}`)).status).toBe(204);
    expect((await one([rawReq('PUT', `${base}/${cname}/a/b/ß`, [], 'slash')])).status).toBe(201);
    const list = await one([rawReq('GET', `${base}/${cname}`)]);
    expect(list.status).toBe(200);
    expect(list.body).toBe('a/b/ß\n');
  });

  it('answers 412 for a target that is not valid UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from(`${base}/raw/x`), Buffer.from([0xff, 0xfe]), Buffer.from('y')]);
    const res = await one([rawReq('PUT', bad, [], 'nope')]);
    expect(res.status).toBe(412);
    expect(res.body).toBe('Invalid UTF8 or contains NULL');
    const truncated = Buffer.concat([Buffer.from(`${base}/raw/`), Buffer.from([0xe2, 0x98])]);
    expect((await one([rawReq('GET', truncated)])).status).toBe(412);
  });

  it('gathers a raw request line that arrives in several reads', async () => {
    const req = rawReq('PUT', `${base}/raw/split☃line`, [], 'split');
    const cut = req.indexOf(Buffer.from('line')); // after the raw bytes, before the end of the line
    const res = await one([req.subarray(0, cut), req.subarray(cut)]);
    expect(res.status).toBe(201);
    expect(await (await owner.req('GET', `/raw/${encodeURIComponent('split☃line')}`)).text()).toBe('split');
  });

  it('does not serve (or misparse) a request pipelined behind a raw one', async () => {
    const first = rawReq('PUT', `${base}/raw/pipé`, [], 'one');
    const second = Buffer.from(`PUT ${base}/raw/pipelined HTTP/1.1\r\nX-Auth-Token: ${owner.token}\r\nHost: localhost\r\nContent-Length: 3\r\n\r\ntwo`);
    const { data, closedByServer } = await exchange([Buffer.concat([first, second])]);
    const res = parseResponses(data);
    expect(res.map((r) => r.status)).toEqual([201]);
    expect(res[0]?.headers.connection).toBe('close');
    expect(closedByServer).toBe(true);
    expect(await (await owner.req('GET', `/raw/${encodeURIComponent('pipé')}`)).text()).toBe('one');
    expect((await owner.req('GET', '/raw/pipelined')).status).toBe(404);
  });

  it('never rescues a raw request that follows another in the same packet', async () => {
    const plain = rawReq('GET', `${base}/raw/${encodeURIComponent('pipé')}`);
    const raw = rawReq('PUT', `${base}/raw/behindé`, [], 'no');
    const { data, closedByServer } = await exchange([Buffer.concat([plain, raw])]);
    const statuses = parseResponses(data).map((r) => r.status);
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1).every((s) => s === 400)).toBe(true);
    expect(closedByServer).toBe(true);
    expect((await owner.req('GET', `/raw/${encodeURIComponent('behindé')}`)).status).toBe(404);
  });

  it('refuses smuggling attempts exactly as for any other request', async () => {
    // Both Content-Length and chunked: llhttp still frames the rescued request.
    const both = rawReq('PUT', `${base}/raw/smuggé`, ['Transfer-Encoding: chunked', 'Content-Length: 40'], '0\r\n\r\nGET /v1/AUTH_test/raw HTTP/1.1\r\n\r\n');
    const a = await exchange([both]);
    expect(parseResponses(a.data).map((r) => r.status)).toEqual([400]);
    expect(a.closedByServer).toBe(true);
    // Two different Content-Lengths.
    const twice = Buffer.concat([
      Buffer.from('PUT '),
      Buffer.from(`${base}/raw/smuggé2`),
      Buffer.from(` HTTP/1.1\r\nX-Auth-Token: ${owner.token}\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 30\r\n\r\nxGET / HTTP/1.1\r\nHost: x\r\n\r\n`),
    ]);
    const b = await exchange([twice]);
    expect(parseResponses(b.data).map((r) => r.status)).toEqual([400]);
    // A line break smuggled into the target is not turned into anything else.
    const crInTarget = Buffer.concat([Buffer.from(`GET ${base}/raw/é`), Buffer.from('\rX: y'), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]);
    const c = await exchange([crInTarget]);
    expect(parseResponses(c.data).map((r) => r.status)).toEqual([400]);
    expect((await owner.req('GET', `/raw/${encodeURIComponent('smuggé')}`)).status).toBe(404);
    expect((await owner.req('GET', `/raw/${encodeURIComponent('smuggé2')}`)).status).toBe(404);
  });

  it('answers 400 to raw bytes in a later request of a kept-alive connection (its start is gone)', async () => {
    const plain = rawReq('GET', `${base}/raw/${encodeURIComponent(name)}`);
    const raw = rawReq('GET', `${base}/raw/${name}`);
    const { data } = await exchange([plain, raw], { afterReply: true });
    expect(parseResponses(data).map((r) => r.status)).toEqual([200, 400]);
  });

  it('leaves percent-encoded requests and keep-alive alone', async () => {
    const put = rawReq('PUT', `${base}/raw/${encodeURIComponent('kept é')}`, [], 'k');
    const get = rawReq('GET', `${base}/raw/${encodeURIComponent('kept é')}`);
    // The GET follows the PUT's answer on the same connection: Node runs pipelined
    // handlers concurrently, so a GET sent before the PUT committed could see nothing yet.
    const { data, closedByServer } = await exchange([put, get], { afterReply: true });
    const res = parseResponses(data);
    expect(res.map((r) => r.status)).toEqual([201, 200]);
    expect(res.map((r) => r.headers.connection)).toEqual([undefined, undefined]);
    expect(res[1]?.body).toBe('k');
    expect(closedByServer).toBe(false);
  });
});
