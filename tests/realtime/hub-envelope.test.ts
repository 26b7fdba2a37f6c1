import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type pg from 'pg';
import { log } from '../../src/log.js';
import { Hub } from '../../src/realtime/hub.js';
import type { Presence } from '../../src/realtime/presence.js';

/*
 * The hub reads an envelope only once it matches the envelope's schema
 * (src/realtime/envelope-schema.ts): one SQL and TypeScript disagree on is logged, not relayed.
 * (What SQL emits is checked against the same schema in tests/sql/events.test.ts.)
 */

function hubWithPresence() {
  const sent: Array<{ user: string; frame: unknown }> = [];
  const presence = {
    hasUser: () => true,
    sendToUser: (user: string, frame: string) => sent.push({ user, frame: JSON.parse(frame) }),
  } as unknown as Presence;
  return { hub: new Hub({} as pg.Pool, randomUUID(), presence, async () => {}), sent };
}

test('a valid envelope is relayed; one that breaks the schema is logged and not relayed', (t) => {
  const errors = t.mock.method(log, 'error', () => {});
  const { hub, sent } = hubWithPresence();
  const [a, b, room] = [randomUUID(), randomUUID(), randomUUID()];

  hub.dispatch({ v: 1, type: 'room.created', room, users: [a, b], waiter: a });
  assert.deepEqual(sent, [{ user: a, frame: { type: 'matched', room_id: room } }]);
  assert.equal(errors.mock.callCount(), 0);

  const broken = [
    { v: 1, type: 'room.created', room, users: [a, b] }, // no waiter
    { v: 1, type: 'room.created', room, users: [a], waiter: a }, // one user
    { v: 1, type: 'room.closed', room, users: [a, b], reason: 'deleted' }, // unknown reason
    { v: 1, type: 'messages.created', messages: [{ room, users: [a, b], seq: 1, id: randomUUID() }] }, // half a message
    { v: 1, type: 'room.renamed', room, users: [a, b] }, // unknown type
    'not an object',
  ];
  for (const payload of broken) hub.dispatch(payload);
  assert.equal(sent.length, 1, `nothing more was relayed: ${JSON.stringify(sent.slice(1))}`);
  assert.equal(errors.mock.callCount(), broken.length);
  for (const call of errors.mock.calls) assert.match(String(call.arguments[0]), /does not match the envelope schema/);
});
