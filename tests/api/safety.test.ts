import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { matchPair, registerUser, request, type TestUser } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

/** The HTTP contract of blocks, reports and the account routes (docs/api.md, Safety). */

let server: TestServer;
let owner: pg.Client;
withTestServer(
  (s, o) => {
    server = s;
    owner = o;
  },
  { reportThreshold: 2 },
);

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const call = (user: TestUser, method: string, path: string, body?: unknown) =>
  request(server.url, method, path, { token: user.token, body });
const login = (identifier: string, password: string) => request(server.url, 'POST', '/auth/login', { body: { identifier, password } });

describe('blocks', () => {
  test('POST / DELETE /rooms/:id/block and GET /blocks, by room only', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    assert.deepEqual(await call(a, 'GET', '/blocks').then((r) => [r.status, r.body]), [200, []]);
    const blocked = await call(a, 'POST', `/rooms/${roomId}/block`);
    assert.deepEqual([blocked.status, blocked.body], [200, { message: 'room blocked' }]);
    const list = await call(a, 'GET', '/blocks');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.map((x: any) => Object.keys(x).sort()),
      [['blocked_at', 'room_id']],
    );
    assert.equal(list.body[0].room_id, roomId);
    assert.deepEqual((await call(b, 'GET', '/blocks')).body, [], 'the blocked side is not told');
    const room = await call(b, 'GET', `/rooms/${roomId}`);
    assert.deepEqual([room.body.is_active, room.body.closed_reason], [false, 'blocked']);

    // never matched again, while blocked; matched again once lifted
    assert.equal((await call(a, 'POST', '/pool/join')).status, 202);
    assert.equal((await call(b, 'POST', '/pool/join')).status, 202);
    assert.equal((await call(b, 'POST', '/pool/leave')).status, 200);
    const lifted = await call(a, 'DELETE', `/rooms/${roomId}/block`);
    assert.deepEqual([lifted.status, lifted.body], [200, { message: 'block removed' }]);
    assert.equal((await call(b, 'POST', '/pool/join')).status, 201);
    const again = await call(a, 'DELETE', `/rooms/${roomId}/block`);
    assert.deepEqual([again.status, again.body], [404, { error: 'block not found', code: 'block_not_found' }]);
  });

  test('404 room_not_found for non-members, unknown and malformed ids', async () => {
    const { roomId } = await matchPair(server.url);
    const stranger = await registerUser(server.url);
    for (const path of [`/rooms/${roomId}/block`, `/rooms/${UNKNOWN}/block`, '/rooms/nope/block']) {
      const res = await call(stranger, 'POST', path);
      assert.deepEqual([res.status, res.body], [404, { error: 'room not found', code: 'room_not_found' }], path);
    }
  });

  test('429 rate_limited with Retry-After past 30 blocks an hour', async () => {
    const { a, roomId } = await matchPair(server.url);
    for (let i = 0; i < 30; i++) assert.equal((await call(a, 'POST', `/rooms/${roomId}/block`)).status, 200);
    const limited = await call(a, 'POST', `/rooms/${roomId}/block`);
    assert.deepEqual([limited.status, limited.body], [429, { error: 'too many requests, try again later', code: 'rate_limited' }]);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });
});

describe('reports', () => {
  test('201; consent copies the messages; 409 for a second report of the room', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const res = await call(a, 'POST', `/rooms/${roomId}/report`, {
      reason: 'harassment',
      note: 'said awful things',
      include_messages: true,
    });
    assert.deepEqual([res.status, res.body], [201, { message: 'report received' }]);
    const { rows } = await owner.query('select reporter_id, reported_id, reason, note, messages from app.reports where room_id = $1', [
      roomId,
    ]);
    assert.deepEqual(rows, [{ reporter_id: a.id, reported_id: b.id, reason: 'harassment', note: 'said awful things', messages: [] }]);
    const twice = await call(a, 'POST', `/rooms/${roomId}/report`, { reason: 'spam' });
    assert.deepEqual([twice.status, twice.body], [409, { error: 'room already reported', code: 'already_reported' }]);
  });

  test('400 invalid_request naming the field for a reason off the list, a long note, a non-boolean consent, unknown fields', async () => {
    const { a, roomId } = await matchPair(server.url);
    const cases: Array<[unknown, string]> = [
      [{ reason: 'rude' }, 'reason'],
      [{}, 'reason'],
      [{ reason: 'spam', note: 'x'.repeat(501) }, 'note'],
      [{ reason: 'spam', include_messages: 'yes' }, 'include_messages'],
      [{ reason: 'spam', partner: 'who?' }, 'partner'],
    ];
    for (const [body, field] of cases) {
      const res = await call(a, 'POST', `/rooms/${roomId}/report`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'invalid_request');
      assert.ok(
        res.body.details.some((d: { field: string }) => d.field === field),
        JSON.stringify(res.body),
      );
    }
  });

  test('the note is at most 500 characters after trimming', async () => {
    const { a, roomId } = await matchPair(server.url);
    const res = await call(a, 'POST', `/rooms/${roomId}/report`, { reason: 'spam', note: `${'n'.repeat(500)}          ` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  test('reports from 2 distinct users (REPORT_THRESHOLD=2) suspend: 409 suspended on join', async () => {
    const first = await matchPair(server.url);
    const target = first.a;
    assert.equal((await call(first.b, 'POST', `/rooms/${first.roomId}/report`, { reason: 'spam' })).status, 201);
    assert.equal((await call(target, 'POST', '/pool/join')).status, 202);
    const other = await registerUser(server.url);
    const joined = await call(other, 'POST', '/pool/join');
    assert.equal(joined.status, 201);
    assert.equal((await call(other, 'POST', `/rooms/${joined.body.room_id}/report`, { reason: 'hate' })).status, 201);
    const refused = await call(target, 'POST', '/pool/join');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'suspended');
    assert.match(
      refused.body.error,
      /^suspended from matching until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z after reports from other users$/,
    );
  });
});

describe('account', () => {
  test('POST /auth/logout-all: every earlier token is refused at once, a login right after works', async () => {
    const user = await registerUser(server.url);
    const second = (await login(user.pseudo, user.password)).body.token as string;
    const res = await call(user, 'POST', '/auth/logout-all');
    assert.deepEqual([res.status, res.body], [200, { message: 'signed out everywhere' }]);
    for (const token of [user.token, second]) {
      const refused = await request(server.url, 'GET', '/rooms/me', { token });
      assert.deepEqual([refused.status, refused.body], [401, { error: 'invalid or expired token', code: 'invalid_token' }]);
    }
    // a login in the same second as the sign-out must not be killed by it (iat has whole seconds)
    for (let i = 0; i < 3; i++) {
      const fresh = (await login(user.pseudo, user.password)).body.token as string;
      assert.equal((await request(server.url, 'GET', '/rooms/me', { token: fresh })).status, 200, `login ${i}`);
      assert.equal((await request(server.url, 'POST', '/auth/logout-all', { token: fresh })).status, 200);
      assert.equal((await request(server.url, 'GET', '/rooms/me', { token: fresh })).status, 401);
    }
  });

  test('POST /auth/password: a fresh token that works at once, every other token refused, the new password logs in', async () => {
    const user = await registerUser(server.url);
    const other = (await login(user.pseudo, user.password)).body.token as string;
    const res = await call(user, 'POST', '/auth/password', { old_password: user.password, new_password: 'a new horse' });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['token']);
    assert.equal((await request(server.url, 'GET', '/rooms/me', { token: res.body.token })).status, 200, 'the fresh token lives');
    for (const token of [user.token, other]) assert.equal((await request(server.url, 'GET', '/rooms/me', { token })).status, 401);
    assert.equal((await login(user.pseudo, user.password)).status, 401);
    assert.equal((await login(user.pseudo, 'a new horse')).status, 200);
    // and again at once (same second): the second fresh token lives, the first dies
    const again = await request(server.url, 'POST', '/auth/password', {
      token: res.body.token,
      body: { old_password: 'a new horse', new_password: 'third horse' },
    });
    assert.equal(again.status, 200);
    assert.equal((await request(server.url, 'GET', '/rooms/me', { token: again.body.token })).status, 200);
    assert.equal((await request(server.url, 'GET', '/rooms/me', { token: res.body.token })).status, 401);
  });

  test('POST /auth/password: 403 wrong_password, 400 for a short new password, 429 after 5 wrong passwords', async () => {
    const user = await registerUser(server.url);
    const short = await call(user, 'POST', '/auth/password', { old_password: user.password, new_password: 'short' });
    assert.equal(short.status, 400);
    assert.ok(short.body.details.some((d: { field: string }) => d.field === 'new_password'));
    for (let i = 0; i < 5; i++) {
      const wrong = await call(user, 'POST', '/auth/password', { old_password: 'not it at all', new_password: 'long enough' });
      assert.deepEqual([wrong.status, wrong.body], [403, { error: 'wrong password', code: 'wrong_password' }]);
    }
    const limited = await call(user, 'DELETE', '/auth/me', { password: user.password });
    assert.equal(limited.status, 429, 'the budget is shared by every password check of the account');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal((await call(user, 'GET', '/rooms/me')).status, 200, 'the account is still there');
  });

  test('DELETE /auth/me: 403 for a wrong password; then 200, the token is dead, the account cannot log in', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const wrong = await call(a, 'DELETE', '/auth/me', { password: 'not it at all' });
    assert.deepEqual([wrong.status, wrong.body], [403, { error: 'wrong password', code: 'wrong_password' }]);
    const missing = await call(a, 'DELETE', '/auth/me', {});
    assert.equal(missing.status, 400);
    const res = await call(a, 'DELETE', '/auth/me', { password: a.password });
    assert.deepEqual([res.status, res.body], [200, { message: 'account deleted' }]);
    assert.equal((await call(a, 'GET', '/rooms/me')).status, 401);
    assert.equal((await login(a.pseudo, a.password)).status, 401);
    // the partner's room is closed; the pseudo is free again
    assert.deepEqual((await call(b, 'GET', '/rooms/me')).body, []);
    assert.equal((await call(b, 'GET', `/rooms/${roomId}`)).status, 404);
    await registerUser(server.url, { pseudo: a.pseudo });
  });
});
