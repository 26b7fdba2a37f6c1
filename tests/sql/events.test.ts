import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { envelopeSchemas } from '../../src/realtime/envelope-schema.js';
import { withTestDatabase, type TestDatabase } from '../support/database.js';
import { EventListener, sqlUser } from '../support/sql.js';

/*
 * The NOTIFY envelope as SQL emits it: one scenario makes the functions send every event type,
 * and the listener (tests/support/sql.ts) checks each envelope against the one definition in
 * src/realtime/envelope-schema.ts, which the hub validates with too.
 */

let db: TestDatabase;
let client: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  client = c;
});

test('every event type the functions emit matches the envelope schema', async () => {
  const listener = await EventListener.start(db.url);
  try {
    await scenario(listener);
  } finally {
    await listener.stop();
  }
});

async function scenario(listener: EventListener): Promise<void> {
  const a = await sqlUser(client, 'FR');
  const b = await sqlUser(client, 'NG');
  await client.query('select api.join_pool($1)', [a.id]);
  const room = (await client.query('select api.join_pool($1) as r', [b.id])).rows[0].r.room.id as string;
  const post = async (...events: object[]) =>
    (await client.query('select api.post_events($1) as results', [JSON.stringify(events.map((e, i) => ({ i, ...e })))])).rows[0].results;
  const [sent] = await post(
    { kind: 'message', room, user: a.id, origin: 'gw:1', content: 'hello', client_id: 'c1' },
    // too big for an envelope (4000 × 3 bytes): it travels without its content
    { kind: 'message', room, user: a.id, origin: 'gw:1', content: '€'.repeat(4000) },
    { kind: 'typing', room, user: b.id },
  );
  await post({ kind: 'read', room, user: b.id, message_id: sent.id });
  await client.query('select api.react($1, $2, $3)', [b.id, sent.id, '❤️']);
  await client.query('select api.unreact($1, $2)', [b.id, sent.id]);
  await client.query('select api.close_room($1, $2)', [a.id, room]);
  // a room closed by a block, and the user events of the safety features
  await client.query('select api.join_pool($1)', [a.id]);
  const blocked = (await client.query('select api.join_pool($1) as r', [(await sqlUser(client, 'NG')).id])).rows[0].r.room.id as string;
  await client.query('select api.block_room($1, $2)', [a.id, blocked]);
  await client.query('select api.logout_all($1)', [b.id]);
  await client.query('select api.delete_account($1)', [b.id]);
  await listener.flush(client);

  const seen = new Set(listener.events.map((e) => e.type));
  for (const type of Object.keys(envelopeSchemas)) assert.ok(seen.has(type), `the scenario emitted ${type}`);
  const messages = listener.messages(room);
  assert.equal(messages.length, 2);
  assert.ok(
    messages.some((m) => m.content_omitted === true && m.content === null),
    'a message too big travelled without content',
  );
  assert.ok(
    listener.events.some((e) => e.type === 'room.closed' && e.reason === 'blocked'),
    'a room closed by a block',
  );
  assert.deepEqual(listener.violations, []);
}
