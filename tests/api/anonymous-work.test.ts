import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerUser, request, uniqueName } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

/**
 * Work an anonymous client makes the server do — an argon2id hash per registration or login —
 * has a price: per-address limits counted in SQL, and a bounded hash queue that answers 503 at
 * once rather than queueing without end.
 */
const registration = () => {
  const pseudo = uniqueName();
  return { pseudo, email: `${pseudo}@example.com`, country: 'FR', password: 'correct horse' };
};

describe('registrations per client address', () => {
  let server: TestServer;
  withTestServer((s) => (server = s), { registrationsPerHour: 3, trustProxy: 1 });
  const register = (address: string) =>
    request(server.url, 'POST', '/auth/register', { body: registration(), headers: { 'x-forwarded-for': address } });

  test('past the hourly limit: 429 with Retry-After, before any hash; other addresses unaffected', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await register('203.0.113.1')).status, 201);
    const refused = await register('203.0.113.1');
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, { error: 'too many registrations from this address, try again later', code: 'rate_limited' });
    // the window started with the first registration, a moment ago
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 3590 && retryAfter <= 3600, String(retryAfter));
    assert.equal((await register('203.0.113.2')).status, 201);
  });
});

describe('the hash queue', () => {
  let server: TestServer;
  withTestServer((s) => (server = s), { hashConcurrency: 1, hashQueue: 2 });

  test('a burst past the queue is answered 503 with Retry-After at once; the rest are served', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () => request(server.url, 'POST', '/auth/register', { body: registration() })),
    );
    const created = results.filter((r) => r.status === 201);
    const busy = results.filter((r) => r.status === 503);
    assert.equal(created.length + busy.length, results.length, results.map((r) => r.status).join(','));
    // one hashing, two waiting: everything else arrives while they are being hashed
    assert.ok(created.length >= 3 && busy.length >= 6, results.map((r) => r.status).join(','));
    for (const res of busy) {
      assert.deepEqual(res.body, { error: 'the server is busy, retry in a moment', code: 'unavailable' });
      assert.equal(res.headers.get('retry-after'), '1');
    }
    // logins share the queue and get their turn once the burst is over
    const user = await registerUser(server.url);
    const login = await request(server.url, 'POST', '/auth/login', { body: { identifier: user.pseudo, password: user.password } });
    assert.equal(login.status, 200);
  });
});

describe('login backoff per account and address', () => {
  let server: TestServer;
  withTestServer((s) => (server = s), { trustProxy: 1 });
  const login = (identifier: string, password: string, address: string) =>
    request(server.url, 'POST', '/auth/login', { body: { identifier, password }, headers: { 'x-forwarded-for': address } });

  test('an attacker at one address cannot lock the owner out at another', async () => {
    const owner = await registerUser(server.url);
    for (let i = 0; i < 5; i++) assert.equal((await login(owner.pseudo, 'wrong guess', '198.51.100.66')).status, 401);
    const blocked = await login(owner.pseudo, owner.password, '198.51.100.66');
    assert.equal(blocked.status, 429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(retryAfter > 50 && retryAfter <= 60, String(retryAfter));
    assert.equal((await login(owner.email, owner.password, '192.0.2.10')).status, 200);
  });
});
