import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type pg from 'pg';
import { matchPair, registerUser, request, type TestUser } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let owner: pg.Client;
withTestServer((s, o) => {
  server = s;
  owner = o;
});

const ROOM_NOT_FOUND = { error: 'room not found', code: 'room_not_found' };
const BAD_NAME = { error: 'name is required (1-64 chars)', code: 'invalid_name' };
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const MALFORMED = ['not-a-uuid', '123', `${UNKNOWN}0`, '00000000-0000-4000-8000-00000000000g', '%20'];

const get = (user: TestUser, path: string) => request(server.url, 'GET', path, { token: user.token });

/** Stores messages through the send path's SQL function, as the gateway's batcher would. */
async function postMessages(roomId: string, user: TestUser, contents: string[]): Promise<Array<{ id: string; seq: number }>> {
  const events = contents.map((content, i) => ({ i, kind: 'message', room: roomId, user: user.id, origin: 'test', content }));
  const { rows } = await owner.query('select api.post_events($1) as results', [JSON.stringify(events)]);
  const results = rows[0].results as Array<{ ok: boolean; id: string; seq: number }>;
  for (const r of results) assert.equal(r.ok, true, JSON.stringify(r));
  return results;
}

const expire = (roomId: string) => owner.query(`update app.rooms set expires_at = now() - interval '1 second' where id = $1`, [roomId]);

describe('GET /rooms/me', () => {
  test("open rooms, newest first, each with the caller's side", async () => {
    const me = await registerUser(server.url, { country: 'DE' });
    const partners: TestUser[] = [];
    const rooms: string[] = [];
    for (let k = 0; k < 3; k++) {
      const partner = await registerUser(server.url, { country: 'KE' });
      partners.push(partner);
      const [waiter, joiner] = k === 1 ? [partner, me] : [me, partner];
      assert.equal((await request(server.url, 'POST', '/pool/join', { token: waiter.token })).status, 202);
      const matched = await request(server.url, 'POST', '/pool/join', { token: joiner.token });
      assert.equal(matched.status, 201);
      rooms.push(matched.body.room_id);
    }
    const res = await get(me, '/rooms/me');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(
      res.body.map((r: { id: string }) => r.id),
      [rooms[2], rooms[1], rooms[0]],
    );
    assert.deepEqual(
      res.body.map((r: { me: string }) => r.me),
      ['a', 'b', 'a'],
    );
    assert.deepEqual(
      res.body.map((r: { partner_country: string }) => r.partner_country),
      ['KE', 'KE', 'KE'],
    );
    for (const [k, partner] of partners.entries()) {
      const theirs = await get(partner, '/rooms/me');
      assert.deepEqual(
        theirs.body.map((r: { id: string; me: string; partner_country: string }) => [r.id, r.me, r.partner_country]),
        [[rooms[k], k === 1 ? 'a' : 'b', 'DE']],
      );
    }

    // closed and expired rooms drop out at once
    assert.equal((await request(server.url, 'DELETE', `/rooms/${rooms[0]}`, { token: partners[0]!.token })).status, 200);
    await expire(rooms[2]!);
    assert.deepEqual(
      (await get(me, '/rooms/me')).body.map((r: { id: string }) => r.id),
      [rooms[1]],
    );
  });

  test('an empty list for a user without rooms; 401 without a token', async () => {
    const loner = await registerUser(server.url);
    const res = await get(loner, '/rooms/me');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, []);
    assert.equal((await request(server.url, 'GET', '/rooms/me')).status, 401);
  });
});

describe('GET /rooms/:room_id', () => {
  test('the room for both members, with unread_count and last_message', async () => {
    const { a, b, roomId } = await matchPair(server.url, ['FR', 'NG']);
    await postMessages(roomId, a, ['hi', 'there']);
    const forA = await get(a, `/rooms/${roomId}`);
    const forB = await get(b, `/rooms/${roomId}`);
    assert.equal(forA.status, 200);
    assert.equal(forB.status, 200);
    assert.equal(forA.body.me, 'a');
    assert.equal(forA.body.partner_country, 'NG');
    assert.equal(forA.body.unread_count, 0);
    assert.equal(forA.body.last_message.mine, true);
    assert.equal(forB.body.me, 'b');
    assert.equal(forB.body.partner_country, 'FR');
    assert.equal(forB.body.unread_count, 2);
    assert.equal(forB.body.last_message.content, 'there');
    assert.equal(forB.body.last_message.mine, false);
    // the id is case-insensitive
    assert.equal((await get(a, `/rooms/${roomId.toUpperCase()}`)).body.id, roomId);
  });

  test('closed and expired rooms too, with is_active false and closed_reason', async () => {
    const closed = await matchPair(server.url);
    await request(server.url, 'DELETE', `/rooms/${closed.roomId}`, { token: closed.a.token });
    for (const user of [closed.a, closed.b]) {
      const res = await get(user, `/rooms/${closed.roomId}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.is_active, false);
      assert.equal(res.body.closed_reason, 'closed');
      assert.equal(res.body.last_message, null);
    }

    const expired = await matchPair(server.url);
    await expire(expired.roomId);
    const res = await get(expired.b, `/rooms/${expired.roomId}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.is_active, false);
    assert.equal(res.body.closed_reason, 'expired');
  });
});

describe('GET /rooms/:room_id/messages', () => {
  let pair: Awaited<ReturnType<typeof matchPair>>;
  let sent: Array<{ id: string; seq: number }>;
  before(async () => {
    pair = await matchPair(server.url);
    sent = [...(await postMessages(pair.roomId, pair.a, ['m1', 'm2', 'm3'])), ...(await postMessages(pair.roomId, pair.b, ['m4', 'm5']))];
  });
  const history = (user: TestUser, query = '') => get(user, `/rooms/${pair.roomId}/messages${query}`);
  const seqs = (body: Array<{ seq: number }>) => body.map((m) => m.seq);

  test('oldest first, with X-Has-More, own ids and partner aliases', async () => {
    const res = await history(pair.a);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-has-more'), 'false');
    assert.deepEqual(seqs(res.body), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      res.body.map((m: { content: string }) => m.content),
      ['m1', 'm2', 'm3', 'm4', 'm5'],
    );
    assert.deepEqual(
      Object.keys(res.body[0]).sort(),
      ['client_id', 'content', 'id', 'is_read', 'reactions', 'sent_at', 'sender_id', 'seq'].sort(),
    );
    const senders = res.body.map((m: { sender_id: string }) => m.sender_id);
    assert.deepEqual(senders.slice(0, 3), [pair.a.id, pair.a.id, pair.a.id]);
    assert.equal(new Set(senders.slice(3)).size, 1);
    assert.notEqual(senders[3], pair.b.id);
    assert.ok(!JSON.stringify(res.body).includes(pair.b.id));
    for (const m of res.body) {
      assert.deepEqual(m.reactions, []);
      assert.equal(m.is_read, false);
    }
    const forB = await history(pair.b);
    assert.deepEqual(forB.body.map((m: { sender_id: string }) => m.sender_id).slice(3), [pair.b.id, pair.b.id]);
  });

  test('limit, before and after_seq page through the history', async () => {
    const newest = await history(pair.a, '?limit=2');
    assert.deepEqual(seqs(newest.body), [4, 5]);
    assert.equal(newest.headers.get('x-has-more'), 'true');
    const older = await history(pair.a, `?limit=2&before=${sent[3]!.id}`);
    assert.deepEqual(seqs(older.body), [2, 3]);
    assert.equal(older.headers.get('x-has-more'), 'true');
    const oldest = await history(pair.a, `?limit=2&before=${sent[1]!.id.toUpperCase()}`);
    assert.deepEqual(seqs(oldest.body), [1]);
    assert.equal(oldest.headers.get('x-has-more'), 'false');
    const after = await history(pair.a, '?after_seq=3');
    assert.deepEqual(seqs(after.body), [4, 5]);
    assert.equal(after.headers.get('x-has-more'), 'false');
    const forward = await history(pair.a, '?after_seq=0&limit=3');
    assert.deepEqual(seqs(forward.body), [1, 2, 3]);
    assert.equal(forward.headers.get('x-has-more'), 'true');
    assert.deepEqual(seqs((await history(pair.a, '?limit=500')).body), [1, 2, 3, 4, 5]);
    assert.deepEqual((await history(pair.a, '?after_seq=5')).body, []);
  });

  test('400 invalid_request for a bad limit, before or after_seq', async () => {
    for (const query of [
      '?limit=0',
      '?limit=501',
      '?limit=abc',
      '?limit=1.5',
      '?limit=',
      '?limit=-1',
      '?before=not-a-uuid',
      '?before=123',
      '?after_seq=-1',
      '?after_seq=abc',
      '?after_seq=1.5',
      '?after_seq=',
    ]) {
      const res = await history(pair.a, query);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'invalid_request', query);
    }
  });

  test('404 for a before that is not a message of the room', async () => {
    const other = await matchPair(server.url);
    const [elsewhere] = await postMessages(other.roomId, other.a, ['elsewhere']);
    for (const before of [UNKNOWN, elsewhere!.id]) {
      const res = await history(pair.a, `?before=${before}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'message_not_found');
    }
  });

  test('read marks show as is_read', async () => {
    const { rows } = await owner.query('select api.post_events($1) as results', [
      JSON.stringify([{ i: 0, kind: 'read', room: pair.roomId, user: pair.b.id, message_id: sent[1]!.id }]),
    ]);
    assert.equal(rows[0].results[0].moved, true);
    const res = await history(pair.a);
    assert.deepEqual(
      res.body.map((m: { is_read: boolean }) => m.is_read),
      [true, true, false, false, false],
    );
    assert.equal((await get(pair.b, `/rooms/${pair.roomId}`)).body.unread_count, 1);
  });
});

describe('PATCH /rooms/:room_id/name', () => {
  const rename = (user: TestUser, roomId: string, body: unknown) =>
    request(server.url, 'PATCH', `/rooms/${roomId}/name`, { token: user.token, body });

  test('200 with the renamed room; the partner still sees "Stranger"', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const res = await rename(b, roomId, { name: '  Night owls  ' });
    assert.equal(res.status, 200);
    assert.equal(res.body.message, 'room renamed');
    assert.equal(res.body.room.id, roomId);
    assert.equal(res.body.room.name, 'Night owls');
    assert.equal(res.body.room.user_b_room_name, 'Night owls');
    assert.equal(res.body.room.user_a_room_name, 'Stranger');

    const forA = (await get(a, `/rooms/${roomId}`)).body;
    assert.equal(forA.name, 'Stranger');
    assert.equal(forA.user_a_room_name, 'Stranger');
    assert.equal(forA.user_b_room_name, 'Stranger');
    assert.equal((await get(b, '/rooms/me')).body[0].name, 'Night owls');
    assert.equal((await rename(a, roomId, { name: 'x'.repeat(64) })).status, 200);
    assert.equal((await get(b, `/rooms/${roomId}`)).body.user_a_room_name, 'Stranger');
  });

  test('400 "name is required (1-64 chars)" for empty, blank, too long, missing or non-string names', async () => {
    const { a, roomId } = await matchPair(server.url);
    for (const body of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(65) },
      {},
      { name: 42 },
      { name: null },
      { name: ['a'] },
      'name',
      undefined,
    ]) {
      const res = await rename(a, roomId, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.body, BAD_NAME, JSON.stringify(body));
    }
    assert.equal((await get(a, `/rooms/${roomId}`)).body.name, 'Stranger');
  });

  test('404 for a closed or expired room', async () => {
    const closed = await matchPair(server.url);
    await request(server.url, 'DELETE', `/rooms/${closed.roomId}`, { token: closed.b.token });
    const res = await rename(closed.a, closed.roomId, { name: 'late' });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, ROOM_NOT_FOUND);

    const expired = await matchPair(server.url);
    await expire(expired.roomId);
    assert.deepEqual((await rename(expired.a, expired.roomId, { name: 'late' })).body, ROOM_NOT_FOUND);
  });
});

describe('DELETE /rooms/:room_id', () => {
  test('200 "room deleted" for either member; the messages go with it; then 404', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    await postMessages(roomId, a, ['one', 'two']);
    const res = await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: b.token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: 'room deleted' });
    const { rows } = await owner.query('select count(*)::int as n from app.messages where room_id = $1', [roomId]);
    assert.equal(rows[0].n, 0);

    for (const user of [a, b]) {
      const again = await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: user.token });
      assert.equal(again.status, 404);
      assert.deepEqual(again.body, ROOM_NOT_FOUND);
      const history = await get(user, `/rooms/${roomId}/messages`);
      assert.equal(history.status, 200);
      assert.deepEqual(history.body, []);
      assert.equal(history.headers.get('x-has-more'), 'false');
    }
  });

  test('404 for an expired room', async () => {
    const { a, roomId } = await matchPair(server.url);
    await expire(roomId);
    const res = await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: a.token });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, ROOM_NOT_FOUND);
  });
});

describe('404 "room not found" on every route for non-members, unknown and malformed ids', () => {
  const routes: Array<[string, (id: string) => string, unknown]> = [
    ['GET', (id) => `/rooms/${id}`, undefined],
    ['GET', (id) => `/rooms/${id}/messages`, undefined],
    ['PATCH', (id) => `/rooms/${id}/name`, { name: 'mine now' }],
    ['DELETE', (id) => `/rooms/${id}`, undefined],
  ];

  for (const [method, path, body] of routes) {
    test(`${method} ${path(':room_id')}`, async () => {
      const { a, roomId } = await matchPair(server.url);
      const stranger = await registerUser(server.url);
      for (const [user, id] of [[stranger, roomId], [a, UNKNOWN], ...MALFORMED.map((m) => [a, m] as const)] as Array<[TestUser, string]>) {
        const res = await request(server.url, method, path(id), { token: user.token, body });
        assert.equal(res.status, 404, `${method} ${path(id)}`);
        assert.deepEqual(res.body, ROOM_NOT_FOUND, `${method} ${path(id)}`);
      }
      // the stranger's attempts changed nothing
      const room = (await get(a, `/rooms/${roomId}`)).body;
      assert.equal(room.is_active, true);
      assert.equal(room.name, 'Stranger');

      const missing = await request(server.url, method, path(roomId), { body });
      assert.equal(missing.status, 401);
    });
  }
});
