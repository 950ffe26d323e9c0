/**
 * tempauth service tokens: SERVICE_<acct> needs the account admin's X-Auth-Token plus an
 * X-Service-Token of a user in group "service" (test5:tester5); AUTH_<acct> is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';
import { type Session, session } from './client.ts';

let h: Harness;
let user: Session;
let service: Session;

beforeAll(async () => {
  h = await startHarness();
  user = await session(h.url, 'test:tester', 'testing');
  service = await session(h.url, 'test5:tester5', 'testing5');
});
afterAll(async () => h.close());

const svcUrl = (path: string): string => `${h.url}/v1/SERVICE_test${path}`;

describe('X-Service-Token', () => {
  it('the storage URL stays AUTH_', () => {
    expect(user.storageUrl).toBe(`${h.url}/v1/AUTH_test`);
  });

  it('SERVICE_ account: user token alone is 403, service token alone is 403, no token is 401', async () => {
    expect((await fetch(svcUrl(''), { headers: { 'X-Auth-Token': user.token } })).status).toBe(403);
    expect((await fetch(svcUrl('/c'), { method: 'PUT', headers: { 'X-Auth-Token': user.token } })).status).toBe(403);
    expect((await fetch(svcUrl(''), { headers: { 'X-Auth-Token': service.token } })).status).toBe(403);
    const both = { 'X-Auth-Token': service.token, 'X-Service-Token': service.token };
    expect((await fetch(svcUrl(''), { headers: both })).status).toBe(403);
    expect((await fetch(svcUrl(''))).status).toBe(401);
    // A user token in X-Service-Token does not carry the service group.
    expect((await fetch(svcUrl(''), { headers: { 'X-Auth-Token': user.token, 'X-Service-Token': user.token } })).status).toBe(403);
    // An unknown service token is ignored, as tempauth: still 403, not 401.
    expect((await fetch(svcUrl(''), { headers: { 'X-Auth-Token': user.token, 'X-Service-Token': 'AUTH_tk0000' } })).status).toBe(403);
  });

  it('SERVICE_ account: user token + service token reach containers and objects', async () => {
    const headers = { 'X-Auth-Token': user.token, 'X-Service-Token': service.token };
    expect((await fetch(svcUrl(''), { method: 'HEAD', headers })).status).toBe(204);
    expect((await fetch(svcUrl(''), { method: 'POST', headers: { ...headers, 'X-Account-Meta-Svc': 'yes' } })).status).toBe(204);
    expect((await fetch(svcUrl(''), { method: 'PUT', headers })).status).toBe(403);
    expect((await fetch(svcUrl('/c'), { method: 'PUT', headers })).status).toBe(201);
    const put = await fetch(svcUrl('/c/o'), { method: 'PUT', headers, body: new Uint8Array(Buffer.from('service data')) });
    expect(put.status).toBe(201);
    const get = await fetch(svcUrl('/c/o'), { headers });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('service data');
    const list = await fetch(svcUrl(''), { headers });
    expect(await list.text()).toBe('c\n');
    // The service account is its own account: AUTH_test does not see its container.
    expect((await user.req('HEAD', '/c')).status).toBe(404);
    expect((await fetch(svcUrl('/c/o'), { headers: { 'X-Auth-Token': user.token } })).status).toBe(403);
    expect((await fetch(svcUrl('/c/o'), { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(svcUrl('/c'), { method: 'DELETE', headers })).status).toBe(204);
  });

  it('AUTH_ account: X-Service-Token changes nothing', async () => {
    expect((await user.req('HEAD', '')).status).toBe(204);
    expect((await user.req('HEAD', '', { headers: { 'X-Service-Token': service.token } })).status).toBe(204);
    const r = await fetch(`${h.url}/v1/AUTH_test`, { headers: { 'X-Auth-Token': service.token, 'X-Service-Token': service.token } });
    expect(r.status).toBe(403);
  });
});
