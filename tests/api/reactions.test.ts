import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { matchPair, registerUser, request, type TestUser } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let owner: pg.Client;
withTestServer((s, o) => {
  server = s;
  owner = o;
});

const MESSAGE_NOT_FOUND = { error: 'message not found', code: 'message_not_found' };
const EMOJI_REQUIRED = { error: 'emoji is required', code: 'invalid_emoji' };
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const react = (user: TestUser, messageId: string, body: unknown) =>
  request(server.url, 'POST', `/messages/${messageId}/reactions`, { token: user.token, body });
const unreact = (user: TestUser, messageId: string) =>
  request(server.url, 'DELETE', `/messages/${messageId}/reactions`, { token: user.token });

/** A room with one message from each side: [a's, b's]. */
async function roomWithMessages() {
  const pair = await matchPair(server.url);
  const events = [
    { i: 0, kind: 'message', room: pair.roomId, user: pair.a.id, origin: 'test', content: 'from a' },
    { i: 1, kind: 'message', room: pair.roomId, user: pair.b.id, origin: 'test', content: 'from b' },
  ];
  const { rows } = await owner.query('select api.post_events($1) as results', [JSON.stringify(events)]);
  const ids = (rows[0].results as Array<{ i: number; id: string }>).sort((x, y) => x.i - y.i).map((r) => r.id);
  return { ...pair, fromA: ids[0]!, fromB: ids[1]! };
}

async function history(user: TestUser, roomId: string): Promise<Array<{ id: string; sender_id: string; reactions: unknown[] }>> {
  const res = await request(server.url, 'GET', `/rooms/${roomId}/messages`, { token: user.token });
  assert.equal(res.status, 200);
  return res.body;
}

describe('POST /messages/:message_id/reactions', () => {
  test('200 "reaction saved"; reactions show own id and the partner\'s alias; a re-post replaces', async () => {
    const { a, b, roomId, fromA, fromB } = await roomWithMessages();
    const saved = await react(b, fromA, { emoji: '❤️' });
    assert.equal(saved.status, 200);
    assert.deepEqual(saved.body, { message: 'reaction saved' });
    assert.equal((await react(a, fromA, { emoji: '  👍  ' })).status, 200);

    const [forA, forB] = [await history(a, roomId), await history(b, roomId)];
    const aliasOfB = forA[1]!.sender_id;
    const aliasOfA = forB[0]!.sender_id;
    assert.notEqual(aliasOfB, b.id);
    assert.notEqual(aliasOfA, a.id);
    assert.deepEqual(forA[0]!.reactions, [
      { user_id: aliasOfB, emoji: '❤️' },
      { user_id: a.id, emoji: '👍' },
    ]);
    assert.deepEqual(forB[0]!.reactions, [
      { user_id: b.id, emoji: '❤️' },
      { user_id: aliasOfA, emoji: '👍' },
    ]);
    assert.deepEqual(forA[1]!.reactions, []);
    assert.ok(!JSON.stringify(forA).includes(b.id), "a never sees b's account id");

    // one reaction per user per message: posting again replaces it
    assert.equal((await react(b, fromA, { emoji: '😂' })).status, 200);
    assert.deepEqual((await history(a, roomId))[0]!.reactions, [
      { user_id: a.id, emoji: '👍' },
      { user_id: aliasOfB, emoji: '😂' },
    ]);
    const { rows } = await owner.query('select count(*)::int as n from app.reactions where message_id = $1', [fromA]);
    assert.equal(rows[0].n, 2);

    // one's own message and the partner's alike; 32 characters is the longest emoji
    assert.equal((await react(b, fromB, { emoji: 'x'.repeat(32) })).status, 200);
    assert.deepEqual((await history(b, roomId))[1]!.reactions, [{ user_id: b.id, emoji: 'x'.repeat(32) }]);
  });

  test('400 "emoji is required" for empty, blank, too long, missing or non-string emoji', async () => {
    const { a, fromB } = await roomWithMessages();
    for (const body of [
      { emoji: '' },
      { emoji: '   ' },
      { emoji: 'x'.repeat(33) },
      { emoji: '👍'.repeat(33) },
      {},
      { emoji: 42 },
      { emoji: null },
      'emoji',
      undefined,
    ]) {
      const res = await react(a, fromB, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.body, EMOJI_REQUIRED, JSON.stringify(body));
    }
    const { rows } = await owner.query('select count(*)::int as n from app.reactions where message_id = $1', [fromB]);
    assert.equal(rows[0].n, 0);
  });

  test('404 "message not found" for non-members, unknown and malformed ids', async () => {
    const { a, fromA } = await roomWithMessages();
    const stranger = await registerUser(server.url);
    for (const [user, id] of [
      [stranger, fromA],
      [a, UNKNOWN],
      [a, 'not-a-uuid'],
      [a, '123'],
      [a, `${UNKNOWN}0`],
    ] as Array<[TestUser, string]>) {
      const res = await react(user, id, { emoji: '👍' });
      assert.equal(res.status, 404, `${user.pseudo} ${id}`);
      assert.deepEqual(res.body, MESSAGE_NOT_FOUND);
    }
  });

  test('401 without a token', async () => {
    const res = await request(server.url, 'POST', `/messages/${UNKNOWN}/reactions`, { body: { emoji: '👍' } });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'missing_authorization');
  });
});

describe('DELETE /messages/:message_id/reactions', () => {
  test('200 "reaction removed", then 404 "no reaction to remove"', async () => {
    const { a, b, roomId, fromA } = await roomWithMessages();
    await react(a, fromA, { emoji: '👍' });
    await react(b, fromA, { emoji: '🔥' });
    const removed = await unreact(b, fromA);
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.body, { message: 'reaction removed' });
    // only the caller's own reaction goes
    assert.deepEqual((await history(a, roomId))[0]!.reactions, [{ user_id: a.id, emoji: '👍' }]);

    const again = await unreact(b, fromA);
    assert.equal(again.status, 404);
    assert.deepEqual(again.body, { error: 'no reaction to remove', code: 'reaction_not_found' });
  });

  test('404 "message not found" for non-members, unknown and malformed ids; 401 without a token', async () => {
    const { a, fromA } = await roomWithMessages();
    await react(a, fromA, { emoji: '👍' });
    const stranger = await registerUser(server.url);
    for (const [user, id] of [
      [stranger, fromA],
      [a, UNKNOWN],
      [a, 'not-a-uuid'],
      [a, '123'],
    ] as Array<[TestUser, string]>) {
      const res = await unreact(user, id);
      assert.equal(res.status, 404, id);
      assert.deepEqual(res.body, MESSAGE_NOT_FOUND);
    }
    assert.equal((await request(server.url, 'DELETE', `/messages/${fromA}/reactions`)).status, 401);
    // the stranger removed nothing
    const { rows } = await owner.query('select count(*)::int as n from app.reactions where message_id = $1', [fromA]);
    assert.equal(rows[0].n, 1);
  });
});

describe('reactions of inactive rooms', () => {
  test('closing a room deletes its reactions; its messages are then "message not found"', async () => {
    const { a, b, roomId, fromA, fromB } = await roomWithMessages();
    await react(a, fromB, { emoji: '👍' });
    await react(b, fromB, { emoji: '🎉' });
    await react(b, fromA, { emoji: '🔥' });
    assert.equal((await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: a.token })).status, 200);

    const { rows } = await owner.query('select count(*)::int as n from app.reactions where message_id = any($1::uuid[])', [[fromA, fromB]]);
    assert.equal(rows[0].n, 0);
    for (const user of [a, b]) {
      assert.deepEqual((await react(user, fromA, { emoji: '👍' })).body, MESSAGE_NOT_FOUND);
      assert.deepEqual((await unreact(user, fromB)).body, MESSAGE_NOT_FOUND);
    }
  });

  test('a room past expires_at refuses reactions before any expiry job ran', async () => {
    const { a, b, roomId, fromA } = await roomWithMessages();
    await react(b, fromA, { emoji: '👍' });
    await owner.query(`update app.rooms set expires_at = now() - interval '1 second' where id = $1`, [roomId]);
    const res = await react(a, fromA, { emoji: '👍' });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, MESSAGE_NOT_FOUND);
    assert.deepEqual((await unreact(b, fromA)).body, MESSAGE_NOT_FOUND);
  });
});
