import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { LISTENER_APPLICATION_NAME } from '../../src/listener.js';
import { matchPair, request, type Frame } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  closeAllSockets,
  handshake,
  isOpen,
  openNotifications,
  openRoom,
  ownerQuery,
  pollUntil,
  roomUrl,
  waitClose,
  waitFrame,
} from '../support/ws.js';

/** What blocks, sign-outs and deletions do to open sockets (docs/api.md, Safety). */

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  closeAllSockets();
  await server.close();
});

const roomClosed = (roomId: string, reason: string) => (f: Frame) =>
  f.type === 'room_closed' && f.room_id === roomId && f.reason === reason;

/** A matched pair with a notification socket and a room socket each. */
async function connectedPair() {
  const pair = await matchPair(server.url);
  const sockets = {
    notifyA: await openNotifications(server.wsUrl, pair.a),
    roomA: await openRoom(server.wsUrl, pair.a, pair.roomId),
    notifyB: await openNotifications(server.wsUrl, pair.b),
    roomB: await openRoom(server.wsUrl, pair.b, pair.roomId),
  };
  return { ...pair, ...sockets };
}

describe('block', () => {
  test('blocking an open room: room_closed reason blocked to both, room sockets closed (1000)', async () => {
    const { a, roomId, notifyA, notifyB, roomA, roomB } = await connectedPair();
    assert.equal((await request(server.url, 'POST', `/rooms/${roomId}/block`, { token: a.token })).status, 200);
    for (const socket of [notifyA, notifyB, roomA, roomB]) {
      assert.deepEqual(await waitFrame(socket, roomClosed(roomId, 'blocked')), { type: 'room_closed', room_id: roomId, reason: 'blocked' });
    }
    assert.equal(await waitClose(roomA), 1000);
    assert.equal(await waitClose(roomB), 1000);
    assert.ok(isOpen(notifyA) && isOpen(notifyB), 'notification sockets stay');
  });
});

describe('sign out everywhere', () => {
  for (const route of ['/auth/logout-all', '/auth/password'] as const) {
    test(`${route} closes every socket of the user (4401), not the partner's; old tokens are refused at the handshake`, async () => {
      const { a, roomId, notifyA, notifyB, roomA, roomB } = await connectedPair();
      const body = route === '/auth/password' ? { old_password: a.password, new_password: 'a new horse' } : undefined;
      const res = await request(server.url, 'POST', route, { token: a.token, body });
      assert.equal(res.status, 200);
      assert.equal(await waitClose(notifyA), 4401);
      assert.equal(await waitClose(roomA), 4401);
      assert.ok(isOpen(notifyB) && isOpen(roomB), 'the partner keeps its sockets');
      for (const url of [`${server.wsUrl}/ws/notifications?token=${a.token}`, roomUrl(server.wsUrl, roomId, a.token)]) {
        assert.deepEqual(await handshake(url), { status: 401, body: { error: 'invalid or expired token', code: 'invalid_token' } });
      }
      if (route === '/auth/password') {
        // the fresh token opens sockets again
        const fresh = { ...a, token: res.body.token as string };
        const again = await openRoom(server.wsUrl, fresh, roomId);
        assert.ok(isOpen(again));
      }
    });
  }
});

describe('delete account', () => {
  test("the partner gets room_closed on both sockets; the deleted user's sockets close (4401)", async () => {
    const { a, roomId, notifyA, notifyB, roomA, roomB } = await connectedPair();
    const res = await request(server.url, 'DELETE', '/auth/me', { token: a.token, body: { password: a.password } });
    assert.equal(res.status, 200);
    assert.deepEqual(await waitFrame(notifyB, roomClosed(roomId, 'closed')), { type: 'room_closed', room_id: roomId, reason: 'closed' });
    await waitFrame(roomB, roomClosed(roomId, 'closed'));
    assert.equal(await waitClose(roomB), 1000);
    assert.equal(await waitClose(notifyA), 4401);
    assert.ok([1000, 4401].includes(await waitClose(roomA)), 'the room closed it, or the deletion did');
    assert.ok(isOpen(notifyB));
  });
});

describe('the token cache after a listener reconnect', () => {
  test('a revocation the gateway never heard of is seen once the listener is back', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const owner = new pg.Client({ connectionString: server.db.url });
    await owner.connect();
    try {
      const notifications = await openNotifications(server.wsUrl, a);
      const room = await openRoom(server.wsUrl, a, roomId);
      const partnerRoom = await openRoom(server.wsUrl, b, roomId);
      assert.equal((await request(server.url, 'GET', '/rooms/me', { token: a.token })).status, 200);
      // revoked without the event, as if its NOTIFY had been lost with the listener's connection
      await ownerQuery(
        server.db.url,
        `update app.users set tokens_valid_from = date_trunc('second', now()) + interval '1 second' where id = $1`,
        [a.id],
      );
      assert.equal((await request(server.url, 'GET', '/rooms/me', { token: a.token })).status, 200, 'the gateway trusts its cache');
      const listenerQuery = `application_name = '${LISTENER_APPLICATION_NAME}'`;
      await pollUntil(
        'a listener connection',
        async () =>
          (await owner.query(`select 1 from pg_stat_activity where datname = current_database() and ${listenerQuery}`)).rowCount! > 0,
        10_000,
      );
      const { rows } = await owner.query(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and ${listenerQuery}`,
      );
      assert.ok(
        rows.some((r) => r.killed),
        'the listener was terminated',
      );
      await pollUntil(
        'the old token refused',
        async () => (await request(server.url, 'GET', '/rooms/me', { token: a.token })).status === 401,
        15_000,
      );
      // and the sockets opened with it are checked again and closed; the partner's stays open
      assert.equal(await waitClose(notifications, 10_000), 4401);
      assert.equal(await waitClose(room, 10_000), 4401);
      assert.ok(isOpen(partnerRoom));
    } finally {
      await owner.end();
    }
  });
});
