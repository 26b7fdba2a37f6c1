import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { matchPair, request, type Frame, type TestSocket } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openNotifications, openRoom, waitFrame } from '../support/ws.js';
import { anyJson, deepJsonText, fuzzRuns, hostileString, idLike, shapedObject } from './arbitraries.js';
import { describeGrowth, readMemory } from './memory.js';

/*
 * Any frames, of every type, on both sockets: each is answered as docs/api.md says (an ack, an
 * error frame with a documented code, or nothing for typing), the socket stays open, the server
 * alive, memory flat. FUZZ_RUNS sets the count.
 */

let server: TestServer;
withTestServer((s) => {
  server = s;
});
after(closeAllSockets);

/** The error codes docs/api.md lists for room sockets, but `unavailable` (the database failed). */
const ROOM_ERROR_CODES = new Set([
  'invalid_json',
  'unknown_type',
  'invalid_content',
  'invalid_client_id',
  'invalid_id',
  'message_not_found',
  'rate_limited',
  'room_closed',
  'room_not_found',
]);
const ROOM_FRAME_TYPES = new Set(['message', 'own_message', 'message_ack', 'typing', 'read', 'reaction', 'error']);

/** A frame as text or bytes: shaped like one of the three types with any field values, or anything. */
const frameArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          type: fc.oneof(fc.constantFrom('message', 'typing', 'read'), hostileString),
          content: anyJson,
          client_id: anyJson,
          id: fc.oneof(idLike, anyJson),
        },
        { requiredKeys: ['type'] },
      )
      .map((f) => JSON.stringify(f)),
  },
  { weight: 2, arbitrary: shapedObject.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? '') },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: deepJsonText },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
);

let probes = 0;

/**
 * Sends the frames then a probe whose error frame comes back after every answer to them (answers
 * keep frame order), and returns what the socket got meanwhile.
 */
async function exchange(socket: TestSocket, frames: Array<string | Buffer>): Promise<Frame[]> {
  const from = socket.frames.length;
  for (const frame of frames) socket.ws.send(frame, { binary: Buffer.isBuffer(frame) });
  const probe = `probe-${++probes}`;
  socket.send({ type: 'read', id: 'not-an-id', client_id: probe });
  await waitFrame(socket, (f) => f.client_id === probe, 5000, from);
  return socket.frames.slice(from);
}

test('room socket: any frames get documented answers, the socket stays open, memory flat', async (t) => {
  const { a, b, roomId } = await matchPair(server.url);
  const room = await openRoom(server.wsUrl, a, roomId);
  const partner = await openRoom(server.wsUrl, b, roomId);
  const runs = fuzzRuns(150);
  const before = readMemory();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), async (frames) => {
      const answers = await exchange(room, frames);
      for (const answer of answers) {
        assert.ok(ROOM_FRAME_TYPES.has(answer.type), `unexpected frame ${JSON.stringify(answer)}`);
        if (answer.type === 'error') {
          assert.ok(ROOM_ERROR_CODES.has(answer.code), `undocumented error ${JSON.stringify(answer)}`);
          assert.equal(typeof answer.message, 'string');
        }
      }
      assert.equal(room.closeCode, undefined, 'the room socket stays open');
    }),
    { numRuns: runs },
  );
  const afterRun = readMemory();
  t.diagnostic(`${runs} frame batches in ${Date.now() - started} ms; ${describeGrowth(before, afterRun)}`);
  assert.equal(partner.closeCode, undefined);
  assert.equal((await request(server.url, 'GET', '/health')).status, 200);
  assert.ok(afterRun.heapMiB - before.heapMiB < 64, describeGrowth(before, afterRun));
});

test('notification socket: every frame gets unexpected_frame, the socket stays open', async (t) => {
  const { a } = await matchPair(server.url);
  const notifications = await openNotifications(server.wsUrl, a);
  const runs = fuzzRuns(150);
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(frameArb, async (frame) => {
      const from = notifications.frames.length;
      notifications.ws.send(frame, { binary: Buffer.isBuffer(frame) });
      const answer = await waitFrame(notifications, 'error', 5000, from);
      assert.equal(answer.code, 'unexpected_frame');
      assert.equal(notifications.closeCode, undefined);
    }),
    { numRuns: runs },
  );
  t.diagnostic(`${runs} frames in ${Date.now() - started} ms`);
});
