import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type pg from 'pg';
import { matchPair, request } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openRoom, sendMessage, waitFrame } from '../support/ws.js';

/*
 * The listener's callback is behind the crash barrier too: a NOTIFY on chat_events that is not
 * an event the gateway knows (anyone who can connect as the owner may send one; a future
 * migration may change the shape) is logged and dropped, and the server relays the next real
 * event as usual.
 */

let server: TestServer;
let owner: pg.Client;
withTestServer((s, o) => {
  server = s;
  owner = o;
});
after(closeAllSockets);

test('malformed chat_events payloads: the server lives and relays the next real message', async () => {
  const { a, b, roomId } = await matchPair(server.url);
  const sender = await openRoom(server.wsUrl, a, roomId);
  const partner = await openRoom(server.wsUrl, b, roomId);
  const payloads = [
    'not json',
    'null',
    '[]',
    '42',
    '{"v":1,"type":"messages.created","messages":null}',
    '{"v":1,"type":"messages.created","messages":[null]}',
    `{"v":1,"type":"room.closed","room":"${roomId}","users":null}`,
    `{"v":1,"type":"typing","room":"${roomId}","users":7,"side":{}}`,
    '{"v":1,"type":"room.created","users":["x","y"],"waiter":{"toString":1}}',
  ];
  for (const payload of payloads) await owner.query('select pg_notify($1, $2)', ['chat_events', payload]);

  const ack = await sendMessage(sender, 'after the noise', 'after-noise');
  const delivered = await waitFrame(partner, (f) => f.type === 'message' && f.id === ack.id);
  assert.equal(delivered.content, 'after the noise');
  assert.equal((await request(server.url, 'GET', '/health')).status, 200);
});
