import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { matchPair, request, type Frame, type TestUser } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  closeAllSockets,
  handshake,
  openNotifications,
  openRoom,
  ownerQuery,
  pollUntil,
  roomUrl,
  sendMessage,
  waitClose,
  waitFrame,
} from '../support/ws.js';

/**
 * How a room ends (docs/api.md, Lifecycle): closed by a member, or expired at expires_at — also when
 * no server was running then, and exactly once however many gateways share the database.
 */

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  closeAllSockets();
  await server.close();
});

const messageCount = async (url: string, roomId: string) =>
  Number((await ownerQuery(url, 'select count(*) as n from app.messages where room_id = $1', [roomId]))[0].n);

const roomRow = async (url: string, roomId: string) =>
  (await ownerQuery(url, `select closed_at, closed_reason, expires_at, now() as now from app.rooms where id = $1`, [roomId]))[0];

const isRoomClosed = (roomId: string, reason?: string) => (f: Frame) =>
  f.type === 'room_closed' && f.room_id === roomId && (reason === undefined || f.reason === reason);

/** Everything one user has open on a room: the notification socket and a room socket. */
async function connect(wsUrl: string, user: TestUser, roomId: string) {
  return { notify: await openNotifications(wsUrl, user), room: await openRoom(wsUrl, user, roomId) };
}

describe('a member closes the room', () => {
  test('both users are told, every room socket gets room_closed then a close, the content is gone', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const sideA = await connect(server.wsUrl, a, roomId);
    const sideB = await connect(server.wsUrl, b, roomId);
    const secondTabB = await openRoom(server.wsUrl, b, roomId);
    const ack = await sendMessage(sideA.room, 'soon gone', 'gone-1');
    await request(server.url, 'POST', `/messages/${ack.id}/reactions`, { token: b.token, body: { emoji: '👋' } });
    await waitFrame(sideB.room, 'reaction');

    const closed = await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: b.token });
    assert.equal(closed.status, 200);
    assert.deepEqual(closed.body, { message: 'room deleted' });

    for (const notify of [sideA.notify, sideB.notify]) {
      assert.deepEqual(await waitFrame(notify, 'room_closed'), { type: 'room_closed', room_id: roomId, reason: 'closed' });
    }
    for (const room of [sideA.room, sideB.room, secondTabB]) {
      assert.deepEqual(await waitFrame(room, 'room_closed'), { type: 'room_closed', room_id: roomId, reason: 'closed' });
      assert.equal(await waitClose(room), 1000);
      assert.equal(room.frames.at(-1)!.type, 'room_closed', 'room_closed is the last frame');
    }
    assert.ok(sideA.notify.closeCode === undefined && sideB.notify.closeCode === undefined, 'notification sockets stay');

    assert.equal(await messageCount(server.db.url, roomId), 0);
    const reactions = await ownerQuery(server.db.url, 'select count(*) as n from app.reactions where message_id = $1', [ack.id]);
    assert.equal(Number(reactions[0].n), 0);
    const room = (await request(server.url, 'GET', `/rooms/${roomId}`, { token: a.token })).body;
    assert.equal(room.is_active, false);
    assert.equal(room.closed_reason, 'closed');
    assert.deepEqual((await request(server.url, 'GET', `/rooms/${roomId}/messages`, { token: a.token })).body, []);
    assert.equal((await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: a.token })).status, 404, 'closed once');
  });

  test('a send racing the close is acked and delivered before room_closed, or refused: never stored', async () => {
    // a few rooms, so the close lands at different points of the senders' batches
    const rooms = [];
    for (let i = 0; i < 3; i++) rooms.push(await matchPair(server.url)); // one pool visit at a time
    const bystander = await matchPair(server.url);
    const bystanderRoom = await openRoom(server.wsUrl, bystander.a, bystander.roomId);

    for (const [n, { a, b, roomId }] of rooms.entries()) {
      const roomA = await openRoom(server.wsUrl, a, roomId);
      const roomB = await openRoom(server.wsUrl, b, roomId);
      const ids = Array.from({ length: 16 }, (_, i) => `race-${n}-${i}`);
      const half = 4 + 4 * n;
      for (const id of ids.slice(0, half)) roomB.send({ type: 'message', content: id, client_id: id });
      const closing = request(server.url, 'DELETE', `/rooms/${roomId}`, { token: a.token });
      for (const id of ids.slice(half)) roomB.send({ type: 'message', content: id, client_id: id });
      assert.equal((await closing).status, 200);

      const closedForA = await waitFrame(roomA, isRoomClosed(roomId, 'closed'));
      await waitFrame(roomB, isRoomClosed(roomId, 'closed'));
      await waitClose(roomB);
      // barrier: one flush at a time, in order; once a later message is acked, every batch that
      // held these sends is committed (or refused)
      await sendMessage(bystanderRoom, `after room ${n}`, `bystander-${n}`);

      const seenByA = roomA.frames.indexOf(closedForA);
      const answers = ids.map((id) => roomB.frames.find((f) => (f.type === 'message_ack' || f.type === 'error') && f.client_id === id));
      // answers go out in the order of the sends, and the server closes the socket right after
      // room_closed: only a tail of the sends can be left unanswered (nothing of it is stored,
      // checked below), never one before an answered one
      const answered = answers.filter((f) => f !== undefined).length;
      assert.deepEqual(answers.slice(answered), Array(ids.length - answered).fill(undefined), 'only the last sends go unanswered');
      for (const [k, id] of ids.slice(0, answered).entries()) {
        const answer = answers[k]!;
        if (answer.type === 'message_ack') {
          const delivered = roomA.frames.findIndex((f) => f.type === 'message' && f.id === answer.id);
          assert.ok(delivered >= 0 && delivered < seenByA, `${id}: acked, so delivered before room_closed`);
        } else {
          assert.deepEqual(answer, { type: 'error', code: 'room_closed', message: 'room is no longer active', client_id: id });
        }
      }
      // each answer comes before the socket's room_closed, or the socket did not wait for it
      const closedForB = roomB.frames.findIndex(isRoomClosed(roomId));
      assert.ok(
        answers.every((f) => f === undefined || roomB.frames.indexOf(f) < closedForB),
        'no answer after room_closed',
      );
      assert.equal(await messageCount(server.db.url, roomId), 0, 'nothing stored in the closed room');
    }
  });
});

describe('expiry', () => {
  test('at expires_at both users are told within 5 s, sockets close, content is deleted', async () => {
    const short = await startTestServer({ roomTtlMs: 2000 });
    try {
      const { a, b, roomId } = await matchPair(short.url);
      const sideA = await connect(short.wsUrl, a, roomId);
      const sideB = await connect(short.wsUrl, b, roomId);
      await sendMessage(sideA.room, 'short-lived', 'short-1');
      const { expires_at: expiresAt } = await roomRow(short.db.url, roomId);

      const told = await Promise.all(
        [sideA.notify, sideB.notify].map(async (notify) => {
          const frame = await waitFrame(notify, 'room_closed', 10_000);
          return { frame, at: Date.now() };
        }),
      );
      for (const { frame, at } of told) {
        assert.deepEqual(frame, { type: 'room_closed', room_id: roomId, reason: 'expired' });
        assert.ok(at - expiresAt.getTime() < 5000, `told ${at - expiresAt.getTime()} ms after expires_at`);
        assert.ok(at >= expiresAt.getTime() - 50, 'not before expires_at');
      }
      for (const room of [sideA.room, sideB.room]) {
        assert.deepEqual(await waitFrame(room, 'room_closed'), { type: 'room_closed', room_id: roomId, reason: 'expired' });
        assert.equal(await waitClose(room), 1000);
      }
      const row = await roomRow(short.db.url, roomId);
      assert.equal(row.closed_reason, 'expired');
      assert.equal(await messageCount(short.db.url, roomId), 0);

      const refused = await handshake(roomUrl(short.wsUrl, roomId, a.token));
      assert.equal(refused.status, 410);
      assert.deepEqual(refused.body, { error: 'room has expired', code: 'room_expired' });
    } finally {
      await short.close();
    }
  });

  test('past expires_at sends are refused at once, whether or not the expiry job has run', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const before = await sendMessage(roomA, 'in time', 'in-time');
    // the room's clock runs out now; its job is due in 24 h and the sweep runs once a minute
    await ownerQuery(server.db.url, `update app.rooms set expires_at = now() - interval '1 millisecond' where id = $1`, [roomId]);

    roomA.send({ type: 'message', content: 'too late', client_id: 'too-late' });
    roomB.send({ type: 'read', id: before.id });
    // nothing announced the expiry (no job ran): the refusals are the only answers
    assert.deepEqual(await waitFrame(roomA, (f) => f.client_id === 'too-late'), {
      type: 'error',
      code: 'room_closed',
      message: 'room is no longer active',
      client_id: 'too-late',
    });
    assert.deepEqual(await waitFrame(roomB, 'error'), { type: 'error', code: 'room_closed', message: 'room is no longer active' });
    assert.deepEqual(
      roomA.all('message_ack').map((f) => f.client_id),
      ['in-time'],
      'only the send in time was acked',
    );
    assert.deepEqual([...roomA.all('room_closed'), ...roomB.all('room_closed')], []);
    const stored = await ownerQuery(server.db.url, 'select content from app.messages where room_id = $1', [roomId]);
    assert.ok(
      stored.every((m) => m.content === 'in time'),
      'nothing stored after expires_at',
    );

    const room = (await request(server.url, 'GET', `/rooms/${roomId}`, { token: a.token })).body;
    assert.deepEqual([room.is_active, room.closed_reason], [false, 'expired']);
    assert.equal((await handshake(roomUrl(server.wsUrl, roomId, b.token))).status, 410);
  });

  test('a room that expired while no server ran is closed as soon as one starts', async () => {
    const first = await startTestServer({ roomTtlMs: 3000 });
    const db = first.db;
    let second: TestServer | undefined;
    try {
      const { a, roomId } = await matchPair(first.url);
      const roomA = await openRoom(first.wsUrl, a, roomId);
      await sendMessage(roomA, 'left behind', 'left-1');
      const before = await roomRow(db.url, roomId);
      assert.ok(before.now < before.expires_at, 'the server stops before the room expires');
      closeAllSockets();
      await first.close({ keepDatabase: true });

      await pollUntil(
        'expires_at to pass',
        async () => {
          const row = await roomRow(db.url, roomId);
          return row.now > row.expires_at;
        },
        10_000,
        100,
      );
      const during = await roomRow(db.url, roomId);
      assert.equal(during.closed_at, null, 'nothing expired it while no server ran');
      assert.equal(await messageCount(db.url, roomId), 1);

      second = await startTestServer({ roomTtlMs: 3000 }, db);
      await pollUntil('the catch-up expiry', async () => (await roomRow(db.url, roomId)).closed_reason === 'expired', 5000);
      assert.equal(await messageCount(db.url, roomId), 0);
    } finally {
      if (second) await second.close();
      else await db.drop();
    }
  });

  test('two gateways on one database expire a room exactly once', async () => {
    const one = await startTestServer({ roomTtlMs: 2000 });
    const two = await startTestServer({ roomTtlMs: 2000 }, one.db);
    const listener = new pg.Client({ connectionString: one.db.url });
    const closings: Array<{ room: string; reason: string }> = [];
    try {
      await listener.connect();
      listener.on('notification', (n) => {
        const event = JSON.parse(n.payload ?? '{}');
        if (event.type === 'room.closed') closings.push({ room: event.room, reason: event.reason });
      });
      await listener.query('listen chat_events');

      const { a, b, roomId } = await matchPair(one.url);
      const notifies = [
        await openNotifications(one.wsUrl, a),
        await openNotifications(two.wsUrl, a),
        await openNotifications(one.wsUrl, b),
        await openNotifications(two.wsUrl, b),
      ];
      for (const notify of notifies) await waitFrame(notify, isRoomClosed(roomId, 'expired'), 10_000);

      // barrier: a second room of the same two users, matched across the gateways, expires too;
      // by then every expiry worker of both gateways has polled several times since the first
      assert.equal((await request(one.url, 'POST', '/pool/join', { token: a.token })).status, 202);
      const rematch = await request(two.url, 'POST', '/pool/join', { token: b.token });
      assert.equal(rematch.status, 201);
      const secondRoom = rematch.body.room_id as string;
      for (const notify of notifies.slice(0, 2)) await waitFrame(notify, (f) => f.type === 'matched' && f.room_id === secondRoom);
      for (const notify of notifies) await waitFrame(notify, isRoomClosed(secondRoom, 'expired'), 10_000);

      for (const notify of notifies) {
        assert.equal(notify.all('room_closed').filter((f) => f.room_id === roomId).length, 1);
        assert.equal(notify.all('room_closed').filter((f) => f.room_id === secondRoom).length, 1);
      }
      // the gateways' connections may hear of it a moment before this one
      await pollUntil("the owner's LISTEN to see the second room close", async () => closings.some((c) => c.room === secondRoom));
      assert.deepEqual(
        closings.filter((c) => c.room === roomId),
        [{ room: roomId, reason: 'expired' }],
      );
      assert.deepEqual(
        closings.filter((c) => c.room === secondRoom),
        [{ room: secondRoom, reason: 'expired' }],
      );
    } finally {
      await listener.end();
      closeAllSockets();
      await two.close({ keepDatabase: true });
      await one.close();
    }
  });
});
