import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { closeAll, gatewayClients, okResult, race, rounds, type Outcome, type Step } from '../../support/concurrency.js';
import { withTestDatabase, type TestDatabase } from '../../support/database.js';
import { EventListener, insertUsers } from '../../support/sql.js';

/*
 * The send path and the close under real concurrency: separate connections, released at the same
 * instant, committed. Messages of a room are numbered 1, 2, 3, … under the room row's lock, a
 * client_id is stored once, and once a room is closed nothing is stored, acknowledged or reacted
 * to any more.
 */

let db: TestDatabase;
let owner: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  owner = c;
});

interface Room {
  id: string;
  a: string;
  b: string;
}

type Result = { i: number; ok: boolean; id?: string; seq?: number; code?: string; client_id?: string };

/** Two new users in a new room (a waited, b joined). */
async function newRoom(): Promise<Room> {
  const [a, b] = await insertUsers(owner, ['FR', 'NG']);
  await owner.query('select api.join_pool($1)', [a!.id]);
  const { rows } = await owner.query('select api.join_pool($1) as result', [b!.id]);
  return { id: rows[0].result.room.id, a: a!.id, b: b!.id };
}

const message = (room: Room, user: string, clientId: string) => ({
  kind: 'message',
  room: room.id,
  user,
  origin: 'test',
  content: `text of ${clientId}`,
  client_id: clientId,
});

const postStep = (client: pg.Client, events: object[]): Step => ({
  client,
  sql: 'api.post_events($1)',
  params: [JSON.stringify(events.map((e, i) => ({ i, ...e })))],
});

describe('concurrent sends, closes and reactions on separate connections', () => {
  let clients: pg.Client[] = [];
  let listener: EventListener;
  before(async () => {
    clients = await gatewayClients(db.url, 7);
    listener = await EventListener.start(db.url);
  });
  after(async () => {
    await closeAll(clients);
    await listener.stop();
  });

  test('two api.post_events batches on one room at once, 30 rounds: seqs unique and gap-free, each client_id stored once, unread counts exact', async () => {
    await rounds(30, async () => {
      const room = await newRoom();
      // both batches write as both users; a's a-10 … a-19 are in both batches (a client retrying
      // on another connection), and each batch repeats a-12 within itself
      const first = [
        ...Array.from({ length: 20 }, (_, k) => message(room, room.a, `a-${k}`)),
        ...Array.from({ length: 10 }, (_, k) => message(room, room.b, `b-${k}`)),
        message(room, room.a, 'a-12'),
      ];
      const second = [
        ...Array.from({ length: 10 }, (_, k) => message(room, room.b, `b-${k + 10}`)),
        ...Array.from({ length: 20 }, (_, k) => message(room, room.a, `a-${k + 10}`)),
        message(room, room.a, 'a-12'),
      ];
      const outcomes = await race<Result[]>(owner, [postStep(clients[0]!, first), postStep(clients[1]!, second)]);
      const acks = outcomes.flatMap((o, k) => okResult(o, `batch ${k}`));
      for (const ack of acks) assert.equal(ack.ok, true, JSON.stringify(ack));

      const { rows: stored } = await owner.query<{ id: string; seq: string; sender_id: string; client_id: string }>(
        'select id, seq, sender_id, client_id from app.messages where room_id = $1 order by seq',
        [room.id],
      );
      // a-0 … a-29 and b-0 … b-19: 50 distinct client_ids, numbered 1 … 50
      assert.equal(stored.length, 50);
      assert.deepEqual(
        stored.map((m) => Number(m.seq)),
        Array.from({ length: 50 }, (_, k) => k + 1),
      );
      const byClientId = new Map(stored.map((m) => [m.client_id, m]));
      assert.equal(byClientId.size, 50, 'one stored message per client_id');
      // every ack names the one stored copy of its client_id
      for (const ack of acks) {
        const copy = byClientId.get(ack.client_id!);
        assert.ok(copy, `acked ${ack.client_id} is not stored`);
        assert.deepEqual([ack.id, ack.seq], [copy.id, Number(copy.seq)], `ack of ${ack.client_id}`);
      }

      const {
        rows: [counters],
      } = await owner.query('select last_seq, unread_a, unread_b from app.rooms where id = $1', [room.id]);
      assert.deepEqual(counters, { last_seq: '50', unread_a: 20, unread_b: 30 });
      await listener.flush(owner);
      assert.deepEqual(
        listener
          .messages(room.id)
          .map((m) => m.seq)
          .sort((x, y) => x - y),
        stored.map((m) => Number(m.seq)),
        'each stored message announced once',
      );
    });
  });

  test('api.close_room racing sends and reactions, 30 rounds: nothing stored, acknowledged or reacted to after the close', async () => {
    await rounds(30, async (round) => {
      const room = await newRoom();
      // two messages exist before the race, to be reacted to
      const {
        rows: [setup],
      } = await owner.query('select api.post_events($1) as results', [
        JSON.stringify([message(room, room.a, 'old-a'), message(room, room.b, 'old-b')].map((e, i) => ({ i, ...e }))),
      ]);
      const [oldA, oldB] = setup.results as Result[];

      const sends = (user: string, prefix: string) => Array.from({ length: 8 }, (_, k) => message(room, user, `${prefix}-${round}-${k}`));
      const outcomes = await race(owner, [
        { client: clients[0]!, sql: 'api.close_room($1, $2)', params: [round % 2 === 0 ? room.a : room.b, room.id] },
        postStep(clients[1]!, sends(room.a, 'a')),
        postStep(clients[2]!, sends(room.b, 'b')),
        { client: clients[3]!, sql: 'api.react($1, $2, $3)', params: [room.b, oldA!.id, '👍'] },
        { client: clients[4]!, sql: 'api.react($1, $2, $3)', params: [room.a, oldB!.id, '🎉'] },
        { client: clients[5]!, sql: 'api.react($1, $2, $3)', params: [room.a, oldA!.id, '❤️'] },
        { client: clients[6]!, sql: 'api.react($1, $2, $3)', params: [room.b, oldB!.id, '👀'] },
      ]);
      okResult(outcomes[0]!, 'close');
      const acked = (outcomes.slice(1, 3) as Array<Outcome<Result[]>>).flatMap((o, k) => okResult(o, `send ${k}`));
      for (const r of acked) assert.ok(r.ok || r.code === 'room_closed', JSON.stringify(r));
      const reactions = outcomes.slice(3);
      for (const r of reactions) {
        if (!r.ok) assert.equal(r.error.code, 'CMNFD', `a reaction failed with ${r.error.code} ${r.error.message}`);
      }

      // the closed room keeps nothing: no message, no reaction
      const {
        rows: [left],
      } = await owner.query(
        `select (select count(*)::int from app.messages where room_id = $1) as messages,
                (select count(*)::int from app.reactions where message_id = any($2)) as reactions`,
        [room.id, [oldA!.id, oldB!.id, ...acked.filter((r) => r.ok).map((r) => r.id)]],
      );
      assert.deepEqual(left, { messages: 0, reactions: 0 });

      // everything acknowledged was announced before the close, nothing after it
      await listener.flush(owner);
      const events = listener.all(
        (e) => e.room === room.id || (e.type === 'messages.created' && e.messages.some((m: any) => m.room === room.id)),
      );
      const closedAt = events.findIndex((e) => e.type === 'room.closed');
      assert.ok(closedAt >= 0, 'room.closed announced');
      assert.equal(events.filter((e) => e.type === 'room.closed').length, 1);
      const before = events.slice(0, closedAt);
      const announcedBefore = new Set(
        before
          .flatMap((e) => (e.type === 'messages.created' ? e.messages : []))
          .filter((m: any) => m.room === room.id)
          .map((m: any) => m.client_id),
      );
      for (const r of acked.filter((x) => x.ok))
        assert.ok(announcedBefore.has(r.client_id), `${r.client_id} acked but not announced before the close`);
      assert.deepEqual(
        events.slice(closedAt + 1).map((e) => e.type),
        [],
        'events after room.closed',
      );
      assert.equal(
        before.filter((e) => e.type === 'reaction.changed').length,
        reactions.filter((r) => r.ok).length,
        'one reaction.changed per reaction that succeeded, all before the close',
      );
    });
  });
});
