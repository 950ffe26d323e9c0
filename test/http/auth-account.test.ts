import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';
import { type Session, session } from './client.ts';

let h: Harness;
let s: Session;

beforeAll(async () => {
  h = await startHarness();
  s = await session(h.url, 'test:tester', 'testing');
});
afterAll(async () => h.close());

describe('tempauth endpoint', () => {
  it('issues tokens and a storage URL like tempauth', async () => {
    for (const path of ['/auth/v1.0', '/auth/v1.0/', '/v1.0']) {
      const r = await fetch(`${h.url}${path}`, { headers: { 'X-Storage-User': 'test:tester', 'X-Storage-Pass': 'testing' } });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-auth-token')).toMatch(/^AUTH_tk[0-9a-f]{32}$/);
      expect(r.headers.get('x-storage-token')).toBe(r.headers.get('x-auth-token'));
      expect(r.headers.get('x-storage-url')).toBe(`${h.url}/v1/AUTH_test`);
      expect(Number(r.headers.get('x-auth-token-expires'))).toBeGreaterThan(0);
      expect(r.headers.get('x-trans-id')).toMatch(/^tx[0-9a-f]{21}-[0-9a-f]{10}$/);
      expect(r.headers.get('x-openstack-request-id')).toBe(r.headers.get('x-trans-id'));
    }
  });

  it('refuses bad credentials with 401', async () => {
    const r = await fetch(`${h.url}/auth/v1.0`, { headers: { 'X-Auth-User': 'test:tester', 'X-Auth-Key': 'nope' } });
    expect(r.status).toBe(401);
    const r2 = await fetch(`${h.url}/auth/v1.0`, { headers: { 'X-Auth-User': 'nocolon', 'X-Auth-Key': 'x' } });
    expect(r2.status).toBe(401);
  });

  it('401 without or with a bad token, with the realm quoted', async () => {
    const r = await fetch(`${h.url}/v1/AUTH_test`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Swift realm="AUTH_test"');
    expect(r.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(await r.text()).toContain('<h1>Unauthorized</h1>');
    const r2 = await fetch(`${h.url}/v1/AUTH_test`, { headers: { 'X-Auth-Token': 'AUTH_tkbogus' } });
    expect(r2.status).toBe(401);
  });
});

describe('account', () => {
  it('HEAD of a fresh own account is an empty account', async () => {
    const o = await session(h.url, 'test2:tester2', 'testing2');
    const r = await o.req('HEAD', '');
    expect(r.status).toBe(204);
    expect(r.headers.get('x-account-container-count')).toBe('0');
    expect(r.headers.get('x-account-object-count')).toBe('0');
    expect(r.headers.get('x-account-bytes-used')).toBe('0');
    const g = await o.req('GET', '');
    expect(g.status).toBe(204);
    const j = await o.req('GET', '?format=json');
    expect(j.status).toBe(200);
    expect(await j.text()).toBe('[]');
  });

  it('POST sets and removes metadata, title-cased on output', async () => {
    expect((await s.req('POST', '', { headers: { 'X-Account-Meta-Color-Name': 'blue' } })).status).toBe(204);
    const r = await s.req('HEAD', '');
    expect(r.headers.get('x-account-meta-color-name')).toBe('blue');
    expect((await s.req('POST', '', { headers: { 'X-Remove-Account-Meta-Color-Name': 'x' } })).status).toBe(204);
    expect((await s.req('HEAD', '')).headers.get('x-account-meta-color-name')).toBeNull();
  });

  it('refuses oversized metadata with Swift messages', async () => {
    const r = await s.req('POST', '', { headers: { [`X-Account-Meta-${'k'.repeat(129)}`]: 'v' } });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('Metadata name too long');
    const many: Record<string, string> = {};
    for (let i = 0; i < 91; i++) many[`X-Account-Meta-M${i}`] = 'v';
    expect((await s.req('POST', '', { headers: many })).status).toBe(400);
  });

  it('lists containers in plain, json and xml', async () => {
    for (const c of ['alpha', 'beta', 'gamma-1', 'gamma-2']) expect([201, 202]).toContain((await s.req('PUT', `/${c}`)).status);
    const plain = await s.req('GET', '');
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await plain.text()).split('\n')).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma-1', 'gamma-2']));
    const j = (await (await s.req('GET', '?format=json&prefix=gamma')).json()) as Array<Record<string, unknown>>;
    expect(j.map((e) => e.name)).toEqual(['gamma-1', 'gamma-2']);
    expect(Object.keys(j[0] ?? {})).toEqual(['name', 'count', 'bytes', 'last_modified']);
    expect(String(j[0]?.last_modified)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const d = await (await s.req('GET', '?delimiter=-&prefix=gamma')).text();
    expect(d).toBe('gamma-\n');
    const x = await (await s.req('GET', '?format=xml&prefix=alpha')).text();
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<account name="AUTH_test">\n<container><name>alpha<\/name><count>0<\/count>/);
    const acc = await s.req('GET', '?prefix=gamma', { headers: { Accept: 'application/json' } });
    expect(acc.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await s.req('GET', '?limit=10001')).status).toBe(412);
    const rev = await (await s.req('GET', '?prefix=gamma&reverse=on')).text();
    expect(rev).toBe('gamma-2\ngamma-1\n');
  });

  it('only reseller admins manage accounts and quotas', async () => {
    expect((await s.req('PUT', '')).status).toBe(403);
    expect((await s.req('POST', '', { headers: { 'X-Account-Meta-Quota-Bytes': '10' } })).status).toBe(403);
    const admin = await session(h.url, 'admin:admin', 'admin');
    const r = await fetch(`${h.url}/v1/AUTH_newacct`, { method: 'PUT', headers: { 'X-Auth-Token': admin.token } });
    expect(r.status).toBe(201);
    const q = await fetch(`${h.url}/v1/AUTH_test`, { method: 'POST', headers: { 'X-Auth-Token': admin.token, 'X-Account-Meta-Quota-Bytes': '100000000' } });
    expect(q.status).toBe(204);
  });

  it('/info and /healthcheck', async () => {
    const info = (await (await fetch(`${h.url}/info`)).json()) as { swift: Record<string, unknown> };
    expect(info.swift.max_file_size).toBeGreaterThan(0);
    expect(info.swift.container_listing_limit).toBe(10000);
    const hc = await fetch(`${h.url}/healthcheck`);
    expect(hc.status).toBe(200);
    expect(await hc.text()).toBe('OK');
  });
});
