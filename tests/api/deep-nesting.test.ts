import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { matchPair, request, type TestUser } from '../support/client.js';
import { ROUTES, assertContractAnswer, pathOf } from '../support/routes.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openNotifications, openRoom, waitFrame } from '../support/ws.js';

/*
 * A body of 3,359 "[" then 3,359 "]" once ended the process (RangeError in a recursive walk of
 * the parsed body, thrown inside uWS's data callback). Every route gets such bodies, with and
 * without a token, and both sockets get them as frames: each answer is a 4xx in the contract's
 * shape (or what the route answers without a body, for routes that read none), and the server
 * still answers afterwards.
 */

let server: TestServer;
withTestServer((s) => {
  server = s;
});
after(closeAllSockets);

const nest = (open: string, close: string, depth: number, inner = '') => open.repeat(depth) + inner + close.repeat(depth);
const MAX = 64 * 1024;
const BODIES: Record<string, string> = {
  'arrays 3,359 deep': nest('[', ']', 3359),
  'objects 3,359 deep': nest('{"a":', '}', 3359, '1'),
  'arrays 32,768 deep (64 KiB)': nest('[', ']', MAX / 2),
  'objects as deep as 64 KiB allows': nest('{"a":', '}', Math.floor((MAX - 1) / 6), '1'),
  'mixed, a NUL string at the bottom': nest('[{"a":', '}]', 5000, '"\\u0000"'),
  'unclosed arrays': '['.repeat(MAX),
};
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function assertAlive(): Promise<void> {
  const health = await request(server.url, 'GET', '/health');
  assert.equal(health.status, 200, 'the server still answers');
}

describe('deeply nested bodies', () => {
  test('every POST, PATCH and DELETE route answers a 4xx (or its body-less answer), never a 5xx; the server lives', async () => {
    const { a } = await matchPair(server.url);
    for (const [name, body] of Object.entries(BODIES)) {
      assert.ok(Buffer.byteLength(body) <= MAX, name);
      // fetch sends no body with GET, and GET routes read none
      for (const route of ROUTES.filter((r) => r.method !== 'GET')) {
        for (const token of route.auth ? [undefined, a.token] : [undefined]) {
          const what = `${name} → ${route.method} ${route.path}${token ? ' (token)' : ''}`;
          const res = await request(server.url, route.method, pathOf(route, UNKNOWN), {
            rawBody: body,
            token,
            headers: { 'content-type': 'application/json' },
          });
          assertContractAnswer(res, what);
          // a route that reads its body refuses this one; without a token a protected route is 401
          if (route.body || (route.auth && !token)) assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status}`);
        }
      }
      await assertAlive();
    }
  });

  test("what the refusals say: invalid_json, or the route's own validation, or the NUL field", async () => {
    const deepArray = await request(server.url, 'POST', '/auth/login', { rawBody: BODIES['arrays 3,359 deep'] });
    assert.deepEqual([deepArray.status, deepArray.body.code], [400, 'invalid_request']);
    const unclosed = await request(server.url, 'POST', '/auth/login', { rawBody: BODIES['unclosed arrays'] });
    assert.deepEqual(unclosed.body, { error: 'request body is not valid JSON', code: 'invalid_json' });
    const nul = await request(server.url, 'POST', '/auth/register', { rawBody: BODIES['mixed, a NUL string at the bottom'] });
    assert.equal(nul.status, 400);
    assert.equal(nul.body.code, 'invalid_request');
    assert.equal(nul.body.details[0].field, Array(5000).fill('0.a').join('.'));
  });
});

describe('deeply nested frames', () => {
  test('a room socket answers each with an error frame and stays open', async () => {
    const { a, roomId } = await matchPair(server.url);
    const room = await openRoom(server.wsUrl, a, roomId);
    const frames = [
      BODIES['arrays 32,768 deep (64 KiB)']!,
      BODIES['objects as deep as 64 KiB allows']!,
      `{"type":"message","content":"hi","client_id":${nest('[', ']', 20000)}}`,
      `{"type":"read","id":${nest('{"a":', '}', 10000, '1')}}`,
      `{"type":"message","content":${nest('[', ']', 20000)},"client_id":"deep"}`,
    ];
    const expected = ['unknown_type', 'unknown_type', 'invalid_client_id', 'invalid_id', 'invalid_content'];
    for (const [i, frame] of frames.entries()) {
      const from = room.frames.length;
      room.send(frame);
      const answer = await waitFrame(room, 'error', 5000, from);
      assert.equal(answer.code, expected[i], frame.slice(0, 40));
    }
    await assertStillServes(a, roomId);
  });

  test('the notification socket answers each with unexpected_frame and stays open', async () => {
    const { a } = await matchPair(server.url);
    const notifications = await openNotifications(server.wsUrl, a);
    for (const frame of [BODIES['arrays 32,768 deep (64 KiB)']!, BODIES['objects 3,359 deep']!]) {
      const from = notifications.frames.length;
      notifications.send(frame);
      assert.equal((await waitFrame(notifications, 'error', 5000, from)).code, 'unexpected_frame');
    }
    assert.equal(notifications.closeCode, undefined);
    await assertAlive();
  });
});

/** The room socket still takes a message after the hostile frames. */
async function assertStillServes(user: TestUser, roomId: string): Promise<void> {
  const room = await openRoom(server.wsUrl, user, roomId);
  room.send({ type: 'message', content: 'still here', client_id: 'after' });
  const ack = await waitFrame(room, (f) => f.client_id === 'after');
  assert.equal(ack.type, 'message_ack');
  await assertAlive();
}
