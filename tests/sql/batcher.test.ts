import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { SendBatcher } from '../../src/realtime/batcher.js';
import { connect, createTestDatabase, type TestDatabase } from '../support/database.js';
import { sqlUser } from '../support/sql.js';

/*
 * The batcher against a real database: input the gateway's validation would stop, pushed in
 * directly, must fail only its own event, never the batch it shares with others.
 */

let db: TestDatabase;
let owner: pg.Client;
let pool: pg.Pool;

before(async () => {
  db = await createTestDatabase();
  owner = await connect(db.url);
  pool = createPool(db.url, 4);
});
after(async () => {
  await pool.end();
  await owner.end();
  await db.drop();
});

async function room() {
  const [a, b] = [await sqlUser(owner, 'FR'), await sqlUser(owner, 'NG')];
  await owner.query('select api.join_pool($1)', [a.id]);
  const { rows } = await owner.query('select api.join_pool($1) as r', [b.id]);
  return { a, b, roomId: rows[0].r.room.id as string };
}

test('a batch the database refuses for one event is split until only that event fails', async () => {
  const batcher = new SendBatcher(pool, 256, 20, 1, 10_000);
  const { a, b, roomId } = await room();
  const message = (user: string, content: string) => batcher.submit({ kind: 'message', room: roomId, user, origin: 'test', content });
  const results = await Promise.all([
    message(a.id, 'first'),
    message(b.id, 'NUL \u0000 inside'),
    message(a.id, 'third'),
    batcher.submit({ kind: 'read', room: roomId, user: b.id, message_id: 'urn:uuid:00000000-0000-4000-8000-000000000000' }),
    message(b.id, 'fifth'),
  ]);
  assert.deepEqual(
    results.map((r) => r.ok),
    [true, false, true, false, true],
  );
  assert.deepEqual(
    results.filter((r) => !r.ok).map((r) => (r as { code: string }).code),
    ['invalid_frame', 'invalid_frame'],
  );
  const { rows } = await owner.query('select content from app.messages where room_id = $1 order by seq', [roomId]);
  assert.deepEqual(
    rows.map((r) => r.content),
    ['first', 'third', 'fifth'],
  );
});

test('lanes: each room keeps its order while rooms commit side by side', async () => {
  const batcher = new SendBatcher(pool, 8, 1, 2, 10_000);
  const rooms = [];
  for (let i = 0; i < 6; i++) rooms.push(await room()); // one pair at a time: the pool pairs in order
  const sends = rooms.flatMap(({ a, roomId }) =>
    Array.from({ length: 30 }, (_, i) => batcher.submit({ kind: 'message', room: roomId, user: a.id, origin: 'test', content: `m${i}` })),
  );
  const results = await Promise.all(sends);
  assert.ok(results.every((r) => r.ok));
  for (const { roomId } of rooms) {
    const { rows } = await owner.query('select seq, content from app.messages where room_id = $1 order by seq', [roomId]);
    assert.deepEqual(
      rows.map((r) => r.content),
      Array.from({ length: 30 }, (_, i) => `m${i}`),
    );
  }
  await batcher.drain();
});

test('settled() resolves once the batch being committed has answered its senders', async () => {
  // a full batch (5 of at most 5) is flushed at once: it is being committed when settled() is asked
  const batcher = new SendBatcher(pool, 5, 60_000, 1, 10_000);
  const { b, roomId } = await room();
  const answered: number[] = [];
  const sends = Array.from({ length: 5 }, (_, i) =>
    batcher
      .submit({ kind: 'message', room: roomId, user: b.id, origin: 'test', content: `m${i}`, client_id: `settle-${i}` })
      .then((result) => {
        assert.ok(result.ok);
        answered.push(i);
      }),
  );
  await batcher.settled();
  assert.deepEqual(answered, [0, 1, 2, 3, 4], 'every sender of the running batch was answered first');
  await Promise.all(sends);
  await batcher.settled(); // and with nothing running, at once
});
