import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { matchPair, registerUser, request } from '../support/client.js';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../support/server.js';
import { closeAllSockets, handshake, ownerQuery, roomUrl } from '../support/ws.js';

/**
 * The token rules of every protected route and both WebSocket handshakes: claims (exp, iat, sub
 * required; iat not in the future; age bounded by the issued lifetime), the user must still exist,
 * and exactly one token per request.
 */

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  closeAllSockets();
  await server.close();
});

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const INVALID = { error: 'invalid or expired token', code: 'invalid_token' };

/** A correctly signed token with exactly the given claims (iss and aud always right). */
function token(claims: { sub?: string; iat?: number; exp?: number }): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('ephemeral-chat')
    .setAudience('ephemeral-chat-clients');
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(secret);
}

/** Every protected route, with a well-formed path and body, so only the token decides. */
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const PROTECTED: Array<[string, string, unknown?]> = [
  ['POST', '/pool/join'],
  ['POST', '/pool/leave'],
  ['GET', '/rooms/me'],
  ['GET', `/rooms/${UNKNOWN}`],
  ['GET', `/rooms/${UNKNOWN}/messages`],
  ['PATCH', `/rooms/${UNKNOWN}/name`, { name: 'x' }],
  ['DELETE', `/rooms/${UNKNOWN}`],
  ['POST', `/messages/${UNKNOWN}/reactions`, { emoji: '👍' }],
  ['DELETE', `/messages/${UNKNOWN}/reactions`],
  ['POST', `/rooms/${UNKNOWN}/block`],
  ['DELETE', `/rooms/${UNKNOWN}/block`],
  ['GET', '/blocks'],
  ['POST', `/rooms/${UNKNOWN}/report`, { reason: 'spam' }],
  ['POST', '/auth/logout-all'],
  ['POST', '/auth/password', { old_password: 'correct horse', new_password: 'another horse' }],
  ['DELETE', '/auth/me', { password: 'correct horse' }],
];

/** The answer of every protected route and both handshakes to one token. */
async function everywhere(jwt: string, roomId = UNKNOWN) {
  const answers: Array<[string, number, unknown]> = [];
  for (const [method, path, body] of PROTECTED) {
    const res = await request(server.url, method, path, { token: jwt, body });
    answers.push([`${method} ${path}`, res.status, res.body]);
  }
  const notify = await handshake(`${server.wsUrl}/ws/notifications?token=${encodeURIComponent(jwt)}`);
  answers.push(['notification socket', notify.status, notify.body]);
  const room = await handshake(roomUrl(server.wsUrl, roomId, jwt));
  answers.push(['room socket', room.status, room.body]);
  const byProtocol = await handshake(`${server.wsUrl}/ws/notifications`, { protocols: [`bearer.${jwt}`] });
  answers.push(['notification socket, bearer sub-protocol', byProtocol.status, byProtocol.body]);
  return answers;
}

function assertAllRefused(answers: Array<[string, number, unknown]>) {
  for (const [what, status, body] of answers) {
    assert.equal(status, 401, what);
    assert.deepEqual(body, INVALID, what);
  }
}

describe('claims', () => {
  test('a valid token passes (the baseline of the refusals below)', async () => {
    const user = await registerUser(server.url);
    const res = await request(server.url, 'GET', '/rooms/me', { token: await token({ sub: user.id, iat: now(), exp: now() + 3600 }) });
    assert.equal(res.status, 200);
  });

  const refused: Array<[string, (sub: string) => { sub?: string; iat?: number; exp?: number }]> = [
    ['no exp (would never expire)', (sub) => ({ sub, iat: now() })],
    ['no iat', (sub) => ({ sub, exp: now() + 3600 })],
    ['no sub', () => ({ iat: now(), exp: now() + 3600 })],
    ['a sub that is not a UUID', () => ({ sub: 'admin', iat: now(), exp: now() + 3600 })],
    ['iat ten years ahead', (sub) => ({ sub, iat: now() + 10 * 365 * 86400, exp: now() + 10 * 365 * 86400 + 3600 })],
    ['iat a minute ahead (beyond the clock tolerance)', (sub) => ({ sub, iat: now() + 60, exp: now() + 3600 })],
    ['older than the 72 h lifetime though exp is far ahead', (sub) => ({ sub, iat: now() - 72 * 3600 - 60, exp: now() + 3600 })],
    ['expired', (sub) => ({ sub, iat: now() - 3600, exp: now() - 60 })],
  ];
  for (const [name, claims] of refused) {
    test(`401 for a token with ${name}, on every route and both handshakes`, async () => {
      const user = await registerUser(server.url);
      assertAllRefused(await everywhere(await token(claims(user.id))));
    });
  }

  test('a small clock difference is tolerated: iat 2 s ahead, a token just under 72 h old', async () => {
    const user = await registerUser(server.url);
    for (const claims of [
      { iat: now() + 2, exp: now() + 3600 },
      { iat: now() - 72 * 3600 + 60, exp: now() + 60 },
    ]) {
      const res = await request(server.url, 'GET', '/rooms/me', { token: await token({ sub: user.id, ...claims }) });
      assert.equal(res.status, 200, JSON.stringify(claims));
    }
  });
});

describe('a user that no longer exists', () => {
  test("401 on every route and both handshakes, also when the account was deleted behind the gateway's back", async () => {
    const { a, roomId } = await matchPair(server.url);
    // known to this gateway first: the cache must not keep it alive
    assert.equal((await request(server.url, 'GET', '/rooms/me', { token: a.token })).status, 200);
    await ownerQuery(server.db.url, 'select api.delete_account($1)', [a.id]);
    const deadline = Date.now() + 5000;
    let answers = await everywhere(a.token, roomId);
    while (answers.some(([, status]) => status !== 401) && Date.now() < deadline) answers = await everywhere(a.token, roomId);
    assertAllRefused(answers);
  });

  test('401 on every route and both handshakes for a well-signed token of an id that never existed', async () => {
    assertAllRefused(await everywhere(await token({ sub: '11111111-2222-4333-8444-555555555555', iat: now(), exp: now() + 3600 })));
  });
});

describe('one token per request', () => {
  /** A GET with raw, repeated headers (fetch would merge them into one), over a plain TCP socket. */
  function rawRequest(path: string, headers: Array<[string, string]>): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const url = new URL(server.url);
      const socket = net.connect(Number(url.port), url.hostname);
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => {
        const [head, body] = text.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]), body: JSON.parse(body!) });
      });
      socket.on('error', reject);
      const lines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n${lines}\r\n`);
    });
  }

  test('400 for two Authorization headers, whoever they name; one is fine', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    for (const second of [bob.token, alice.token]) {
      const res = await rawRequest('/rooms/me', [
        ['authorization', `Bearer ${alice.token}`],
        ['authorization', `Bearer ${second}`],
      ]);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: 'more than one authorization header', code: 'ambiguous_authorization' });
    }
    assert.equal((await rawRequest('/rooms/me', [['authorization', `Bearer ${alice.token}`]])).status, 200);
  });

  test('handshakes: two ?token=, two bearer sub-protocols, or ?token= and a sub-protocol naming different tokens are 400', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const base = `${server.wsUrl}/ws/notifications`;
    const ambiguous = [
      await handshake(`${base}?token=${alice.token}&token=${bob.token}`),
      await handshake(`${base}?token=${alice.token}&token=${alice.token}`),
      await handshake(base, { protocols: [`bearer.${alice.token}`, `bearer.${bob.token}`] }),
      await handshake(`${base}?token=${alice.token}`, { protocols: [`bearer.${bob.token}`] }),
    ];
    for (const answer of ambiguous) {
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'more than one token in the handshake', code: 'ambiguous_authorization' });
    }
    // the same token both ways is one token; the sub-protocol is echoed
    const same = await handshake(`${base}?token=${alice.token}`, { protocols: [`bearer.${alice.token}`] });
    assert.deepEqual(same, { status: 101, protocol: `bearer.${alice.token}` });
  });
});
