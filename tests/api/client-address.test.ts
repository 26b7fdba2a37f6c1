import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { normalize } from '../../src/http/client-address.js';
import { request, uniqueName } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

/**
 * The client address is what per-address limits count (failed logins here): the TCP peer, or with
 * TRUST_PROXY=n the address the n trusted proxies vouch for. A failed login leaves its address as
 * the key `client:<address>` in app.rate_limits, which is how these tests observe it.
 */
async function addressCounted(server: TestServer, owner: pg.Client, headers: Record<string, string>): Promise<string[]> {
  await owner.query('delete from app.rate_limits');
  const res = await request(server.url, 'POST', '/auth/login', {
    body: { identifier: uniqueName(), password: 'wrong password' },
    headers,
  });
  assert.equal(res.status, 401);
  const { rows } = await owner.query<{ key: string }>(`select key from app.rate_limits where key like 'client:%'`);
  return rows.map((r) => r.key.slice('client:'.length));
}

describe('without TRUST_PROXY', () => {
  let server: TestServer;
  let owner: pg.Client;
  withTestServer((s, o) => {
    server = s;
    owner = o;
  });

  test('the TCP peer counts, whatever the forwarding headers claim', async () => {
    assert.deepEqual(await addressCounted(server, owner, { 'x-forwarded-for': '6.6.6.6' }), ['127.0.0.1']);
    assert.deepEqual(await addressCounted(server, owner, { forwarded: 'for=6.6.6.6' }), ['127.0.0.1']);
  });
});

describe('TRUST_PROXY=1', () => {
  let server: TestServer;
  let owner: pg.Client;
  withTestServer(
    (s, o) => {
      server = s;
      owner = o;
    },
    { trustProxy: 1 },
  );

  test('the address the proxy appended counts, not what the client wrote before it', async () => {
    assert.deepEqual(await addressCounted(server, owner, { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }), ['203.0.113.7']);
  });

  test('IPv6 hops are read canonically', async () => {
    assert.deepEqual(await addressCounted(server, owner, { 'x-forwarded-for': '6.6.6.6, 2001:DB8:0::1' }), ['2001:db8::1']);
  });

  test('a Forwarded header is not believed: proxies pass a client-written one through', async () => {
    const headers = { forwarded: 'for=203.0.113.99', 'x-forwarded-for': '198.51.100.7' };
    assert.deepEqual(await addressCounted(server, owner, headers), ['198.51.100.7']);
    assert.deepEqual(await addressCounted(server, owner, { forwarded: 'for=203.0.113.99' }), ['127.0.0.1']);
  });

  test('without a forwarding header the peer counts', async () => {
    assert.deepEqual(await addressCounted(server, owner, {}), ['127.0.0.1']);
  });

  test('a malformed hop never lets a client-chosen value through', async () => {
    assert.deepEqual(await addressCounted(server, owner, { 'x-forwarded-for': '6.6.6.6, not-an-address' }), ['127.0.0.1']);
  });
});

describe('TRUST_PROXY=2', () => {
  let server: TestServer;
  let owner: pg.Client;
  withTestServer(
    (s, o) => {
      server = s;
      owner = o;
    },
    { trustProxy: 2 },
  );

  test('the second address from the right counts', async () => {
    assert.deepEqual(await addressCounted(server, owner, { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.0.0.2' }), ['198.51.100.4']);
  });
});

test('addresses are canonical: one client is one key however it is written', () => {
  assert.equal(normalize('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1');
  assert.equal(normalize('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(normalize('203.0.113.9:5678'), '203.0.113.9');
  assert.equal(normalize('[2001:DB8:0:0::1]:80'), '2001:db8::1');
  assert.equal(normalize('unknown'), '');
});
