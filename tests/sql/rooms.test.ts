import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { asGateway, connect, withTestDatabase, type TestDatabase } from '../support/database.js';
import { asOwner, EventListener, expectSqlError, insertUsers, sqlUser, type Envelope, type SqlUser } from '../support/sql.js';

let db: TestDatabase;
let client: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  client = c;
});

const ROOM_KEYS = [
  'closed_reason',
  'country_a',
  'country_b',
  'created_at',
  'expires_at',
  'id',
  'is_active',
  'last_message',
  'me',
  'name',
  'partner_country',
  'unread_count',
  'user_a_room_name',
  'user_b_room_name',
].sort();
const MESSAGE_KEYS = ['client_id', 'content', 'id', 'is_read', 'reactions', 'sent_at', 'sender_id', 'seq'].sort();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

interface Pair {
  a: SqlUser;
  b: SqlUser;
  roomId: string;
}

/** Two new users in a new room: a waited (side a), b joined (side b). */
async function pair(countries: [string, string] = ['FR', 'NG']): Promise<Pair> {
  const a = await sqlUser(client, countries[0]);
  const b = await sqlUser(client, countries[1]);
  await client.query('select api.join_pool($1)', [a.id]);
  const { rows } = await client.query('select api.join_pool($1) as result', [b.id]);
  assert.equal(rows[0].result.matched, true);
  return { a, b, roomId: rows[0].result.room.id };
}

type Event = Record<string, unknown>;
type Result = Record<string, any> & { i: number; ok: boolean };

const message = (room: string, user: SqlUser, content: unknown, clientId?: string): Event => ({
  kind: 'message',
  room,
  user: user.id,
  origin: 'test',
  content,
  ...(clientId === undefined ? {} : { client_id: clientId }),
});
const read = (room: string, user: SqlUser, messageId: string): Event => ({ kind: 'read', room, user: user.id, message_id: messageId });
const typing = (room: string, user: SqlUser): Event => ({ kind: 'typing', room, user: user.id });

/** One api.post_events call; events are numbered in order. Returns the results by index. */
async function post(...events: Event[]): Promise<Result[]> {
  const { rows } = await client.query('select api.post_events($1) as results', [JSON.stringify(events.map((e, i) => ({ i, ...e })))]);
  const results: Result[] = rows[0].results;
  assert.deepEqual(
    results.map((r) => r.i).sort((x, y) => x - y),
    events.map((_, i) => i),
    'one result per event',
  );
  return events.map((_, i) => results.find((r) => r.i === i)!);
}

/** Sends `count` messages from `user` in one batch and returns their results. */
async function send(room: string, user: SqlUser, count: number, prefix = 'm'): Promise<Result[]> {
  const results = await post(...Array.from({ length: count }, (_, k) => message(room, user, `${prefix}${k + 1}`)));
  for (const r of results) assert.equal(r.ok, true, JSON.stringify(r));
  return results;
}

async function roomOf(user: SqlUser, roomId: string): Promise<Record<string, any>> {
  return (await client.query('select api.room($1, $2) as room', [user.id, roomId])).rows[0].room;
}
async function myRooms(user: SqlUser): Promise<Array<Record<string, any>>> {
  return (await client.query('select api.my_rooms($1) as rooms', [user.id])).rows[0].rooms;
}
async function page(user: SqlUser, roomId: string, options: { limit?: number; before?: string; afterSeq?: number } = {}) {
  const { rows } = await client.query('select api.room_messages($1, $2, $3, $4, $5) as page', [
    user.id,
    roomId,
    options.limit ?? 200,
    options.before ?? null,
    options.afterSeq ?? null,
  ]);
  return rows[0].page as { messages: Array<Record<string, any>>; has_more: boolean };
}
async function unreadCounts(user: SqlUser): Promise<Array<{ room_id: string; unread_count: number }>> {
  return (await client.query('select api.unread_counts($1) as rooms', [user.id])).rows[0].rooms;
}
const expireNow = (roomId: string) =>
  asOwner(client, () => client.query(`update app.rooms set expires_at = now() - interval '1 second' where id = $1`, [roomId]));
const count = async (sql: string, params: unknown[]) => Number((await asOwner(client, () => client.query(sql, params))).rows[0].n);

describe('room objects: api.room / api.my_rooms', () => {
  test('each member sees their side, their own name, the partner country', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair(['FR', 'NG']);
      const asA = await roomOf(a, roomId);
      const asB = await roomOf(b, roomId);
      for (const room of [asA, asB]) {
        assert.deepEqual(Object.keys(room).sort(), ROOM_KEYS);
        assert.equal(room.id, roomId);
        assert.equal(room.country_a, 'FR');
        assert.equal(room.country_b, 'NG');
        assert.equal(room.is_active, true);
        assert.equal(room.closed_reason, null);
        assert.equal(room.unread_count, 0);
        assert.equal(room.last_message, null);
        assert.match(room.created_at, ISO);
        assert.match(room.expires_at, ISO);
      }
      assert.equal(asA.me, 'a');
      assert.equal(asA.partner_country, 'NG');
      assert.equal(asB.me, 'b');
      assert.equal(asB.partner_country, 'FR');
      assert.deepEqual(await myRooms(a), [asA]);
      assert.deepEqual(await myRooms(b), [asB]);
    }));

  test('CRNFD for non-members and unknown rooms', () =>
    asGateway(client, async () => {
      const { roomId } = await pair();
      const stranger = await sqlUser(client);
      const error = await expectSqlError(client, 'select api.room($1, $2)', [stranger.id, roomId], 'CRNFD');
      assert.equal(error.message, 'room not found');
      await expectSqlError(client, 'select api.room($1, $2)', [stranger.id, UNKNOWN], 'CRNFD');
      assert.deepEqual(await myRooms(stranger), []);
    }));

  test('my_rooms lists open rooms only, newest first', () =>
    asGateway(client, async () => {
      const me = await sqlUser(client);
      const rooms: string[] = [];
      for (let k = 0; k < 4; k++) {
        const other = await sqlUser(client);
        // alternate sides: me waits, then me joins
        const [waiter, joiner] = k % 2 ? [me, other] : [other, me];
        await client.query('select api.join_pool($1)', [waiter.id]);
        const { rows } = await client.query('select api.join_pool($1) as result', [joiner.id]);
        rooms.push(rows[0].result.room.id);
        // one transaction has one now(): spread the creation times by hand
        await asOwner(client, () =>
          client.query(`update app.rooms set created_at = now() - make_interval(mins => $2) where id = $1`, [
            rows[0].result.room.id,
            10 - k,
          ]),
        );
      }
      const listed = await myRooms(me);
      assert.deepEqual(
        listed.map((r) => r.id),
        [...rooms].reverse(),
      );
      assert.deepEqual(
        listed.map((r) => r.me),
        ['a', 'b', 'a', 'b'],
      );

      await client.query('select api.close_room($1, $2)', [me.id, rooms[1]]);
      await expireNow(rooms[2]!);
      assert.deepEqual(
        (await myRooms(me)).map((r) => r.id),
        [rooms[3], rooms[0]],
      );
      assert.deepEqual(
        (await unreadCounts(me)).map((r) => r.room_id),
        [rooms[3], rooms[0]],
      );
    }));

  test('unread_count and last_message follow the messages, from each side', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const sent = await send(roomId, a, 3);
      const asB = await roomOf(b, roomId);
      assert.equal(asB.unread_count, 3);
      assert.deepEqual(asB.last_message, { id: sent[2]!.id, content: 'm3', sent_at: sent[2]!.sent_at, mine: false });
      const asA = await roomOf(a, roomId);
      assert.equal(asA.unread_count, 0);
      assert.equal(asA.last_message.mine, true);
      assert.deepEqual(await unreadCounts(b), [{ room_id: roomId, unread_count: 3 }]);
      assert.deepEqual(await unreadCounts(a), [{ room_id: roomId, unread_count: 0 }]);
      assert.equal((await myRooms(b))[0]!.unread_count, 3);
    }));

  test('a room past expires_at is inactive everywhere at once, before any expiry job', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const sent = await send(roomId, a, 2);
      await expireNow(roomId);

      assert.deepEqual(await myRooms(a), []);
      assert.deepEqual(await myRooms(b), []);
      assert.deepEqual(await unreadCounts(b), []);
      const room = await roomOf(b, roomId);
      assert.equal(room.is_active, false);
      assert.equal(room.closed_reason, 'expired');
      assert.equal(room.unread_count, 0);
      assert.equal(room.last_message, null);
      assert.deepEqual(await page(a, roomId), { messages: [], has_more: false });

      const results = await post(message(roomId, a, 'too late'), read(roomId, b, sent[0]!.id), typing(roomId, b));
      assert.deepEqual(
        results.map((r) => [r.ok, r.code]),
        [
          [false, 'room_closed'],
          [false, 'room_closed'],
          [false, 'room_closed'],
        ],
      );
      await expectSqlError(client, 'select api.rename_room($1, $2, $3)', [a.id, roomId, 'late'], 'CRNFD');
      await expectSqlError(client, 'select api.close_room($1, $2)', [a.id, roomId], 'CRNFD');
      await expectSqlError(client, 'select api.open_room_socket($1, $2)', [a.id, roomId], 'CREXP');
      await expectSqlError(client, 'select api.react($1, $2, $3)', [b.id, sent[0]!.id, '👍'], 'CMNFD');
      // nothing was written by the refused send
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 2);
    }));
});

describe('api.rename_room', () => {
  const RENAME = 'select api.rename_room($1, $2, $3) as room';

  test('sets the caller\'s own name, trimmed; the partner keeps seeing "Stranger"', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const { rows } = await client.query(RENAME, [a.id, roomId, '  Our room  ']);
      assert.equal(rows[0].room.name, 'Our room');
      assert.equal(rows[0].room.user_a_room_name, 'Our room');
      assert.equal(rows[0].room.user_b_room_name, 'Stranger');
      const asB = await roomOf(b, roomId);
      assert.equal(asB.name, 'Stranger');
      assert.equal(asB.user_a_room_name, 'Stranger');
      assert.equal(asB.user_b_room_name, 'Stranger');

      await client.query(RENAME, [b.id, roomId, 'x'.repeat(64)]);
      const asA = await roomOf(a, roomId);
      assert.equal(asA.name, 'Our room');
      assert.equal(asA.user_b_room_name, 'Stranger');
      assert.equal((await roomOf(b, roomId)).name, 'x'.repeat(64));
    }));

  test('CVNAM for empty, blank or too long names; CRNFD for non-members and closed rooms', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      for (const name of ['', '   ', 'x'.repeat(65), null]) {
        const error = await expectSqlError(client, RENAME, [a.id, roomId, name], 'CVNAM');
        assert.equal(error.message, 'name is required (1-64 chars)');
      }
      await expectSqlError(client, RENAME, [(await sqlUser(client)).id, roomId, 'mine'], 'CRNFD');
      await expectSqlError(client, RENAME, [a.id, UNKNOWN, 'mine'], 'CRNFD');
      await client.query('select api.close_room($1, $2)', [a.id, roomId]);
      await expectSqlError(client, RENAME, [a.id, roomId, 'mine'], 'CRNFD');
    }));
});

describe('api.post_events', () => {
  test('messages are numbered 1, 2, 3, … per room, across batches, with no gap', () =>
    asGateway(client, async () => {
      const one = await pair();
      const two = await pair();
      const first = await post(
        message(one.roomId, one.a, 'a1'),
        message(two.roomId, two.b, 'b1'),
        message(one.roomId, one.b, 'a2'),
        message(two.roomId, two.a, 'b2'),
        message(one.roomId, one.a, 'a3'),
      );
      assert.deepEqual(
        first.map((r) => r.seq),
        [1, 1, 2, 2, 3],
      );
      for (const r of first) {
        assert.equal(r.ok, true);
        assert.match(r.sent_at, ISO);
      }
      const second = await post(message(two.roomId, two.b, 'b3'), message(one.roomId, one.a, 'a4'));
      assert.deepEqual(
        second.map((r) => r.seq),
        [3, 4],
      );
      const { messages } = await page(one.a, one.roomId);
      assert.deepEqual(
        messages.map((m) => [m.seq, m.content]),
        [
          [1, 'a1'],
          [2, 'a2'],
          [3, 'a3'],
          [4, 'a4'],
        ],
      );
      assert.deepEqual(
        messages.map((m) => m.id),
        [first[0]!.id, first[2]!.id, first[4]!.id, second[1]!.id],
      );
      const { rows } = await asOwner(client, () => client.query('select last_seq from app.rooms where id = $1', [one.roomId]));
      assert.equal(Number(rows[0].last_seq), 4);
    }));

  test('content is trimmed and stored', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      await post(message(roomId, a, '   hello there  '));
      const { messages } = await page(b, roomId);
      assert.equal(messages[0]!.content, 'hello there');
    }));

  test('client_id makes a send idempotent: across batches and twice in one batch', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const [first] = await post(message(roomId, a, 'hello', 'c-1'));
      assert.deepEqual(
        { ...first, id: undefined, sent_at: undefined },
        { i: 0, ok: true, seq: 1, client_id: 'c-1', id: undefined, sent_at: undefined },
      );

      const again = await post(
        message(roomId, a, 'hello (retry)', 'c-1'),
        message(roomId, a, 'next', 'c-2'),
        message(roomId, a, 'next again', 'c-2'),
      );
      assert.deepEqual(
        again.map((r) => [r.ok, r.id, r.seq, r.client_id, r.sent_at]),
        [
          [true, first!.id, 1, 'c-1', first!.sent_at],
          [true, again[1]!.id, 2, 'c-2', again[1]!.sent_at],
          [true, again[1]!.id, 2, 'c-2', again[1]!.sent_at],
        ],
      );
      // the same client_id from the partner is the partner's own message
      const [partner] = await post(message(roomId, b, 'mine', 'c-1'));
      assert.equal(partner!.seq, 3);
      assert.notEqual(partner!.id, first!.id);

      const { messages } = await page(a, roomId);
      assert.deepEqual(
        messages.map((m) => [m.seq, m.content]),
        [
          [1, 'hello'],
          [2, 'next'],
          [3, 'mine'],
        ],
      );
      // only one unread per stored message
      assert.equal((await roomOf(b, roomId)).unread_count, 2);
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 3);
    }));

  test('one bad event never fails the others', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const closed = await pair();
      await client.query('select api.close_room($1, $2)', [closed.a.id, closed.roomId]);
      const stranger = await sqlUser(client);
      const results = await post(
        message(roomId, a, 'first'),
        message(roomId, stranger, 'not a member'),
        message(closed.roomId, closed.a, 'closed room'),
        message(roomId, a, '   '),
        message(roomId, a, ''),
        message(roomId, b, 'x'.repeat(4001)),
        message(roomId, b, 'bad client id', 'c'.repeat(65)),
        message(UNKNOWN, a, 'unknown room'),
        message(roomId, b, 'second'),
        read(roomId, stranger, UNKNOWN),
        typing(roomId, stranger),
        typing(closed.roomId, closed.b),
        message(roomId, a, 'x'.repeat(4000)),
      );
      assert.deepEqual(
        results.map((r) => (r.ok ? r.seq : r.code)),
        [
          1,
          'room_not_found',
          'room_closed',
          'invalid_content',
          'invalid_content',
          'invalid_content',
          'invalid_client_id',
          'room_not_found',
          2,
          'room_not_found',
          'room_not_found',
          'room_closed',
          3,
        ],
      );
      const { messages } = await page(a, roomId);
      assert.deepEqual(
        messages.map((m) => m.seq),
        [1, 2, 3],
      );
    }));

  test('a message event without content is refused alone', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      const results = await post(
        message(roomId, a, 'before'),
        message(roomId, a, undefined),
        message(roomId, a, null),
        message(roomId, a, 'after'),
      );
      assert.deepEqual(
        results.map((r) => (r.ok ? r.seq : r.code)),
        [1, 'invalid_content', 'invalid_content', 2],
      );
    }));

  test('unread counters and the read high-water mark, which never moves back', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const sent = await send(roomId, a, 3);
      const fromB = await send(roomId, b, 1);
      assert.equal((await roomOf(b, roomId)).unread_count, 3);
      assert.equal((await roomOf(a, roomId)).unread_count, 1);

      assert.deepEqual(await post(read(roomId, b, sent[1]!.id)), [{ i: 0, ok: true, moved: true }]);
      assert.equal((await roomOf(b, roomId)).unread_count, 1);
      // an earlier message: the mark stays
      assert.deepEqual(await post(read(roomId, b, sent[0]!.id)), [{ i: 0, ok: true, moved: false }]);
      assert.deepEqual(await post(read(roomId, b, sent[1]!.id)), [{ i: 0, ok: true, moved: false }]);
      assert.equal((await roomOf(b, roomId)).unread_count, 1);
      assert.deepEqual(
        (await page(a, roomId)).messages.map((m) => [m.seq, m.is_read]),
        [
          [1, true],
          [2, true],
          [3, false],
          [4, false],
        ],
      );
      assert.deepEqual(
        (await page(b, roomId)).messages.map((m) => m.is_read),
        [true, true, false, false],
      );

      // one's own message, an unknown one, one of another room
      const other = await pair();
      const [elsewhere] = await send(other.roomId, other.a, 1);
      const refused = await post(
        read(roomId, a, sent[2]!.id),
        read(roomId, b, fromB[0]!.id),
        read(roomId, b, UNKNOWN),
        read(roomId, b, elsewhere!.id),
      );
      assert.deepEqual(
        refused.map((r) => r.code),
        ['message_not_found', 'message_not_found', 'message_not_found', 'message_not_found'],
      );

      // a message and a read of it in one batch: reads run after the batch's messages
      await post(message(roomId, b, 'news'), read(roomId, b, sent[2]!.id));
      assert.equal((await roomOf(b, roomId)).unread_count, 0);
      assert.equal((await roomOf(a, roomId)).unread_count, 2);
      const { rows } = await asOwner(client, () =>
        client.query('select read_seq_a, read_seq_b, read_at_b is not null as read_at from app.rooms where id = $1', [roomId]),
      );
      assert.deepEqual(rows[0], { read_seq_a: '0', read_seq_b: '3', read_at: true });
    }));

  test('typing is acknowledged for members of open rooms and never stored', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      assert.deepEqual(await post(typing(roomId, a)), [{ i: 0, ok: true }]);
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 0);
    }));

  test('a flush reads its rooms by their index, never the whole rooms table', () =>
    asGateway(client, async () => {
      // enough rooms that reading all of them is a plan the planner would choose for an unknown row count
      await asOwner(client, async () => {
        const users = await insertUsers(
          client,
          Array.from({ length: 4000 }, () => 'FR'),
        );
        await client.query(
          `insert into app.rooms (user_a, user_b, country_a, country_b, expires_at)
           select (u.a->>'id')::uuid, (u.b->>'id')::uuid, 'FR', 'FR', now() + interval '1 day'
           from (select $1::jsonb->(2 * k) as a, $1::jsonb->(2 * k + 1) as b from generate_series(0, 1999) k) u`,
          [JSON.stringify(users)],
        );
        await client.query('analyze app.rooms');
      });
      const { a, b, roomId } = await pair();
      const results = await post(message(roomId, a, 'one'), message(roomId, b, 'two'));
      assert.ok(results.every((r) => r.ok));
      // rows read by sequential scans of app.rooms in this transaction (index fetches are counted apart)
      const { rows } = await asOwner(client, () =>
        client.query(`select pg_stat_get_xact_tuples_returned('app.rooms'::regclass)::integer as n`),
      );
      assert.equal(rows[0].n, 0);
    }));
});

describe('message objects: sender ids and aliases', () => {
  test("own messages carry the caller's id, the partner's a per-room alias; account ids never leak", () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      await post(message(roomId, a, 'from a', 'ca'), message(roomId, b, 'from b', 'cb'));
      const asA = (await page(a, roomId)).messages;
      const asB = (await page(b, roomId)).messages;
      for (const m of [...asA, ...asB]) {
        assert.deepEqual(Object.keys(m).sort(), MESSAGE_KEYS);
        assert.match(m.sent_at, ISO);
        assert.deepEqual(m.reactions, []);
      }
      assert.equal(asA[0]!.sender_id, a.id);
      assert.equal(asB[1]!.sender_id, b.id);
      const aliasOfA = asB[0]!.sender_id;
      const aliasOfB = asA[1]!.sender_id;
      for (const alias of [aliasOfA, aliasOfB]) assert.match(alias, /^[0-9a-f-]{36}$/);
      assert.notEqual(aliasOfA, a.id);
      assert.notEqual(aliasOfB, b.id);
      assert.notEqual(aliasOfA, aliasOfB);
      // client_id is shown to its sender only
      assert.deepEqual(
        asA.map((m) => m.client_id),
        ['ca', null],
      );
      assert.deepEqual(
        asB.map((m) => m.client_id),
        [null, 'cb'],
      );

      // nothing b can read names a's account
      const seenByB = JSON.stringify([asB, await roomOf(b, roomId), await myRooms(b)]);
      for (const secret of [a.id, a.pseudo, a.email]) assert.ok(!seenByB.includes(secret), `b saw ${secret}`);

      // the alias is stable inside the room and differs in every other room
      assert.equal((await page(b, roomId)).messages[0]!.sender_id, aliasOfA);
      const c = await sqlUser(client);
      await client.query('select api.join_pool($1)', [a.id]);
      const { rows: joined } = await client.query('select api.join_pool($1) as result', [c.id]);
      const otherRoom = joined[0].result.room.id;
      await post(message(otherRoom, a, 'hi c'));
      const aliasInOtherRoom = (await page(c, otherRoom)).messages[0]!.sender_id;
      assert.notEqual(aliasInOtherRoom, aliasOfA);
      assert.notEqual(aliasInOtherRoom, a.id);
    }));

  test('reactions follow the same own-id / alias rule', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const [sent] = await post(message(roomId, a, 'from a'), message(roomId, b, 'from b'));
      await client.query('select api.react($1, $2, $3)', [a.id, sent!.id, '👍']);
      await client.query('select api.react($1, $2, $3)', [b.id, sent!.id, ' ❤️ ']);
      const [asA] = (await page(a, roomId)).messages;
      const [asB] = (await page(b, roomId)).messages;
      const aliasOfB = (await page(a, roomId)).messages[1]!.sender_id;
      const aliasOfA = asB!.sender_id;
      assert.notEqual(aliasOfB, b.id);
      // one transaction has one now(): the reactions' order is not the point here
      const sorted = (list: Array<{ user_id: string; emoji: string }>) => [...list].sort((x, y) => x.emoji.localeCompare(y.emoji));
      assert.deepEqual(
        sorted(asA!.reactions),
        sorted([
          { user_id: a.id, emoji: '👍' },
          { user_id: aliasOfB, emoji: '❤️' },
        ]),
      );
      assert.deepEqual(
        sorted(asB!.reactions),
        sorted([
          { user_id: aliasOfA, emoji: '👍' },
          { user_id: b.id, emoji: '❤️' },
        ]),
      );
      // re-posting replaces, one reaction per user
      await client.query('select api.react($1, $2, $3)', [a.id, sent!.id, '🎉']);
      assert.deepEqual(
        sorted((await page(b, roomId)).messages[0]!.reactions),
        sorted([
          { user_id: b.id, emoji: '❤️' },
          { user_id: aliasOfA, emoji: '🎉' },
        ]),
      );
      await expectSqlError(client, 'select api.react($1, $2, $3)', [a.id, sent!.id, null], 'CVEMO');
    }));
});

describe('api.room_messages', () => {
  test('pages of 25 messages: limit, before, after_seq and has_more', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      const sent = await send(roomId, a, 25);
      const idOf = (seq: number) => sent[seq - 1]!.id;
      const seqs = (p: { messages: Array<Record<string, any>> }) => p.messages.map((m) => m.seq);
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

      const all = await page(a, roomId);
      assert.deepEqual(seqs(all), range(1, 25));
      assert.equal(all.has_more, false);
      assert.deepEqual(
        all.messages.map((m) => m.id),
        sent.map((r) => r.id),
      );

      const newest = await page(a, roomId, { limit: 10 });
      assert.deepEqual(seqs(newest), range(16, 25));
      assert.equal(newest.has_more, true);
      const older = await page(a, roomId, { limit: 10, before: idOf(16) });
      assert.deepEqual(seqs(older), range(6, 15));
      assert.equal(older.has_more, true);
      const oldest = await page(a, roomId, { limit: 10, before: idOf(6) });
      assert.deepEqual(seqs(oldest), range(1, 5));
      assert.equal(oldest.has_more, false);
      const exact = await page(a, roomId, { limit: 5, before: idOf(6) });
      assert.deepEqual(seqs(exact), range(1, 5));
      assert.equal(exact.has_more, false);
      assert.deepEqual(await page(a, roomId, { before: idOf(1) }), { messages: [], has_more: false });

      const forward = await page(a, roomId, { limit: 10, afterSeq: 0 });
      assert.deepEqual(seqs(forward), range(1, 10));
      assert.equal(forward.has_more, true);
      const next = await page(a, roomId, { limit: 10, afterSeq: 10 });
      assert.deepEqual(seqs(next), range(11, 20));
      assert.equal(next.has_more, true);
      const last = await page(a, roomId, { limit: 5, afterSeq: 20 });
      assert.deepEqual(seqs(last), range(21, 25));
      assert.equal(last.has_more, false);
      assert.deepEqual(await page(a, roomId, { afterSeq: 25 }), { messages: [], has_more: false });
      const between = await page(a, roomId, { afterSeq: 5, before: idOf(10) });
      assert.deepEqual(seqs(between), range(6, 9));

      assert.deepEqual(seqs(await page(a, roomId, { limit: 1 })), [25]);
      assert.equal((await page(a, roomId, { limit: 500 })).messages.length, 25);
    }));

  test('CVINV for a limit outside 1-500, CMNFD for a before of another room, CRNFD for non-members', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      const other = await pair();
      const [elsewhere] = await send(other.roomId, other.a, 1);
      const PAGE = 'select api.room_messages($1, $2, $3, $4, $5)';
      await expectSqlError(client, PAGE, [a.id, roomId, 0, null, null], 'CVINV');
      await expectSqlError(client, PAGE, [a.id, roomId, 501, null, null], 'CVINV');
      await expectSqlError(client, PAGE, [a.id, roomId, 10, UNKNOWN, null], 'CMNFD');
      await expectSqlError(client, PAGE, [a.id, roomId, 10, elsewhere!.id, null], 'CMNFD');
      await expectSqlError(client, PAGE, [other.a.id, roomId, 10, null, null], 'CRNFD');
      await expectSqlError(client, PAGE, [a.id, UNKNOWN, 10, null, null], 'CRNFD');
    }));
});

describe('closing and expiring', () => {
  test('close deletes messages and reactions in the same transaction; a second close is CRNFD', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      const sent = await send(roomId, a, 3);
      await client.query('select api.react($1, $2, $3)', [b.id, sent[0]!.id, '🔥']);
      const keep = await pair();
      const [kept] = await send(keep.roomId, keep.a, 1);
      await client.query('select api.react($1, $2, $3)', [keep.b.id, kept!.id, '🔥']);

      await expectSqlError(client, 'select api.close_room($1, $2)', [(await sqlUser(client)).id, roomId], 'CRNFD');
      await client.query('select api.close_room($1, $2)', [b.id, roomId]);
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 0);
      assert.equal(await count('select count(*) as n from app.reactions where message_id = any($1::uuid[])', [sent.map((r) => r.id)]), 0);
      // another room keeps its content
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [keep.roomId]), 1);
      assert.equal(await count('select count(*) as n from app.reactions where message_id = $1', [kept!.id]), 1);

      for (const user of [a, b]) {
        const room = await roomOf(user, roomId);
        assert.equal(room.is_active, false);
        assert.equal(room.closed_reason, 'closed');
        assert.equal(room.unread_count, 0);
        assert.equal(room.last_message, null);
        assert.deepEqual(await page(user, roomId), { messages: [], has_more: false });
      }
      const error = await expectSqlError(client, 'select api.close_room($1, $2)', [a.id, roomId], 'CRNFD');
      assert.equal(error.message, 'room not found');
      await expectSqlError(client, 'select api.open_room_socket($1, $2)', [a.id, roomId], 'CRCLO');
      // an expiry after a close changes nothing
      assert.equal((await client.query('select api.expire_room($1) as done', [roomId])).rows[0].done, false);
      assert.equal((await roomOf(a, roomId)).closed_reason, 'closed');
    }));

  test('expire_room only when due, and only once', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      await send(roomId, a, 2);
      const EXPIRE = 'select api.expire_room($1) as done';
      assert.equal((await client.query(EXPIRE, [roomId])).rows[0].done, false);
      assert.equal((await roomOf(a, roomId)).is_active, true);
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 2);

      await expireNow(roomId);
      assert.equal((await client.query(EXPIRE, [roomId])).rows[0].done, true);
      assert.equal((await client.query(EXPIRE, [roomId])).rows[0].done, false);
      assert.equal((await client.query(EXPIRE, [UNKNOWN])).rows[0].done, false);
      const { rows } = await asOwner(client, () =>
        client.query('select closed_reason, closed_at = now() as now, unread_a, unread_b from app.rooms where id = $1', [roomId]),
      );
      assert.deepEqual(rows[0], { closed_reason: 'expired', now: true, unread_a: 0, unread_b: 0 });
      assert.equal(await count('select count(*) as n from app.messages where room_id = $1', [roomId]), 0);
    }));

  test('expire_due_rooms expires every due open room, up to its limit, oldest first', () =>
    asGateway(client, async () => {
      const rooms = [await pair(), await pair(), await pair(), await pair()];
      const DUE = 'select api.expire_due_rooms($1) as n';
      // anything due before this test (none expected) is swept first
      await client.query(DUE, [100000]);
      await asOwner(client, () =>
        client.query(`update app.rooms set expires_at = now() - interval '2 minutes' where id = $1`, [rooms[1]!.roomId]),
      );
      await asOwner(client, () =>
        client.query(`update app.rooms set expires_at = now() - interval '1 minute' where id = $1`, [rooms[2]!.roomId]),
      );
      // closed first, then past its expires_at: not expired again
      await client.query('select api.close_room($1, $2)', [rooms[3]!.a.id, rooms[3]!.roomId]);
      await expireNow(rooms[3]!.roomId);

      assert.equal((await client.query(DUE, [1])).rows[0].n, 1);
      assert.equal((await roomOf(rooms[1]!.a, rooms[1]!.roomId)).closed_reason, 'expired');
      const { rows } = await asOwner(client, () => client.query('select closed_at from app.rooms where id = $1', [rooms[2]!.roomId]));
      assert.equal(rows[0].closed_at, null, 'the newer due room waits for the next call');
      assert.equal((await client.query(DUE, [1000])).rows[0].n, 1);
      assert.equal((await client.query(DUE, [1000])).rows[0].n, 0);
      assert.equal((await roomOf(rooms[0]!.a, rooms[0]!.roomId)).is_active, true);
      assert.equal((await roomOf(rooms[3]!.a, rooms[3]!.roomId)).closed_reason, 'closed');
    }));
});

describe('events on chat_events (committed)', () => {
  const expireCommitted = (roomId: string) =>
    client.query(`update app.rooms set expires_at = now() - interval '1 second' where id = $1`, [roomId]);
  let listener: EventListener;
  before(async () => {
    listener = await EventListener.start(db.url);
  });
  after(() => listener.stop());

  test('messages.created carries every stored message with its seq; read.moved only when the mark moves; nothing from a rollback', async () => {
    const { a, b, roomId } = await pair();
    const sent = await post(
      message(roomId, a, 'one', 'k1'),
      message(roomId, a, 'two'),
      message(roomId, b, 'three'),
      message(roomId, a, ''),
    );
    await listener.flush(client);
    const created = listener.messages(roomId);
    assert.deepEqual(
      created.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.deepEqual(created[0], {
      room: roomId,
      users: [a.id, b.id],
      seq: 1,
      id: sent[0]!.id,
      side: 'a',
      sender: a.id,
      alias: created[0]!.alias,
      recipient: b.id,
      content: 'one',
      client_id: 'k1',
      sent_at: sent[0]!.sent_at,
      unread_count: 1,
      origin: 'test',
    });
    assert.deepEqual(
      created.map((e) => [e.side, e.recipient, e.unread_count]),
      [
        ['a', b.id, 1],
        ['a', b.id, 2],
        ['b', a.id, 1],
      ],
    );
    // one batch, one notifying commit: its small messages share one envelope
    assert.equal(listener.all((e) => e.type === 'messages.created' && e.messages.some((m: Envelope) => m.room === roomId)).length, 1);
    assert.equal(created[0]!.alias, created[1]!.alias);
    assert.notEqual(created[0]!.alias, created[2]!.alias);

    // the same client_id again: acknowledged, not announced again
    await post(message(roomId, a, 'one', 'k1'));
    // a rolled-back batch announces nothing
    await asGateway(client, () => post(message(roomId, a, 'rolled back')));
    await listener.flush(client);
    assert.equal(listener.messages(roomId).length, 3);

    await post(read(roomId, b, sent[1]!.id));
    await post(read(roomId, b, sent[0]!.id));
    await listener.flush(client);
    const reads = listener.all((e) => e.type === 'read.moved' && e.room === roomId);
    assert.equal(reads.length, 1);
    assert.equal(reads[0]!.side, 'b');
    assert.equal(reads[0]!.seq, 2);
    assert.equal(reads[0]!.id, sent[1]!.id);
    assert.match(reads[0]!.read_at, ISO);
  });

  test('a content too big for NOTIFY is announced without it', async () => {
    const { a, roomId } = await pair();
    const big = '€'.repeat(4000); // 12,000 bytes of UTF-8
    const [r] = await post(message(roomId, a, big));
    await listener.waitFor((e) => e.type === 'messages.created' && e.messages.some((m: Envelope) => m.room === roomId));
    const event = listener.messages(roomId)[0]!;
    assert.equal(event.seq, r!.seq);
    assert.equal(event.id, r!.id);
    assert.equal(event.content, null);
    assert.equal(event.content_omitted, true);
  });

  test('a large batch travels in envelopes under 8,000 bytes, in (room, seq) order, each message once', async () => {
    const rooms = [await pair(), await pair(), await pair()];
    // contents whose JSON form is small, 3,000 bytes (travels), 3,001 bytes (does not) and larger
    const contents = ['hi', 'm'.repeat(900), 'x'.repeat(2998), 'y'.repeat(2999), '€'.repeat(1500), 'é'.repeat(40)];
    const events = Array.from({ length: 90 }, (_, k) => {
      const { a, b, roomId } = rooms[k % 3]!;
      return message(roomId, k % 2 ? b : a, contents[k % contents.length], `big-${k}`);
    });
    const envelopesBefore = listener.events.length;
    const results = await post(...events);
    assert.ok(results.every((r) => r.ok));
    await listener.flush(client);

    const batch = listener.events.slice(envelopesBefore).filter((e) => e.type === 'messages.created');
    const sizes = listener.payloadBytes.slice(envelopesBefore, envelopesBefore + batch.length);
    assert.ok(batch.length > 1, 'more than one envelope');
    assert.ok(Math.max(...sizes) < 8000, `every payload under 8,000 bytes (largest ${Math.max(...sizes)})`);
    const announced = batch.flatMap((e) => e.messages as Envelope[]);
    assert.equal(announced.length, 90);
    assert.equal(new Set(announced.map((m) => m.id)).size, 90, 'each stored message announced once');
    const order = announced.map((m) => `${m.room}/${String(m.seq).padStart(4, '0')}`);
    assert.deepEqual(order, [...order].sort(), 'in (room, seq) order across envelopes');
    for (const m of announced) {
      const sent = events[results.findIndex((r) => r.id === m.id)]!.content as string;
      if (Buffer.byteLength(JSON.stringify(sent)) <= 3000) assert.equal(m.content, sent);
      else assert.deepEqual([m.content, m.content_omitted], [null, true]);
    }
  });

  test('room.closed exactly once for a close, whatever follows', async () => {
    const { a, b, roomId } = await pair();
    await post(message(roomId, a, 'bye'));
    await client.query('select api.close_room($1, $2)', [a.id, roomId]);
    await assert.rejects(client.query('select api.close_room($1, $2)', [b.id, roomId]), { code: 'CRNFD' });
    await expireCommitted(roomId);
    assert.equal((await client.query('select api.expire_room($1) as done', [roomId])).rows[0].done, false);
    await client.query('select api.expire_due_rooms()');
    await listener.flush(client);
    const closed = listener.all((e) => e.type === 'room.closed' && e.room === roomId);
    assert.deepEqual(closed, [{ v: 1, type: 'room.closed', room: roomId, users: [a.id, b.id], reason: 'closed' }]);
  });

  test('room.closed exactly once with reason expired, however many expire calls', async () => {
    const { a, b, roomId } = await pair();
    await expireCommitted(roomId);
    const calls = await Promise.all(
      [connect(db.url), connect(db.url), connect(db.url)].map(async (pending) => {
        const c = await pending;
        try {
          const { rows } = await c.query('select api.expire_room($1) as done', [roomId]);
          return rows[0].done as boolean;
        } finally {
          await c.end();
        }
      }),
    );
    assert.deepEqual(calls.filter(Boolean).length, 1, `exactly one call expires the room: ${calls}`);
    assert.equal((await client.query('select api.expire_due_rooms() as n')).rows[0].n, 0);
    await listener.flush(client);
    const closed = listener.all((e) => e.type === 'room.closed' && e.room === roomId);
    assert.deepEqual(closed, [{ v: 1, type: 'room.closed', room: roomId, users: [a.id, b.id], reason: 'expired' }]);
  });
});
