import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { matchPair, request } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServerProcess, type ServerProcess } from '../support/server.js';
import { closeAllSockets, handshake, isOpen, openNotifications, openRoom, waitClose } from '../support/ws.js';

/**
 * A sign-out everywhere, an account deletion, on one server process reach the other at once: the
 * decision is made in SQL and travels as an event, so the other process refuses the old tokens
 * and closes that user's sockets without being asked.
 */

let db: TestDatabase;
let one: ServerProcess;
let two: ServerProcess;
before(async () => {
  db = await createTestDatabase();
  [one, two] = await Promise.all([spawnServerProcess(db.url), spawnServerProcess(db.url)]);
});
after(async () => {
  closeAllSockets();
  await Promise.all([one?.stop(), two?.stop()]);
  await db.drop();
});

const INVALID = { error: 'invalid or expired token', code: 'invalid_token' };

for (const action of ['logout-all', 'delete account'] as const) {
  test(`${action} on process 1: process 2 refuses the token and closes the user's sockets`, async () => {
    const { a, b, roomId } = await matchPair(one.url);
    // process 2 knows the token as valid (cached) and holds the user's sockets
    assert.equal((await request(two.url, 'GET', '/rooms/me', { token: a.token })).status, 200);
    const notify = await openNotifications(two.wsUrl, a);
    const room = await openRoom(two.wsUrl, a, roomId);
    const partner = await openNotifications(two.wsUrl, b);

    const res =
      action === 'logout-all'
        ? await request(one.url, 'POST', '/auth/logout-all', { token: a.token })
        : await request(one.url, 'DELETE', '/auth/me', { token: a.token, body: { password: a.password } });
    assert.equal(res.status, 200);

    assert.equal(await waitClose(notify), 4401);
    assert.ok([1000, 4401].includes(await waitClose(room)));
    // the cache learned it before the sockets were closed: refused at once, no polling
    const refused = await request(two.url, 'GET', '/rooms/me', { token: a.token });
    assert.deepEqual([refused.status, refused.body], [401, INVALID]);
    assert.deepEqual(await handshake(`${two.wsUrl}/ws/notifications?token=${a.token}`), { status: 401, body: INVALID });
    assert.ok(isOpen(partner), 'the partner is not signed out');
  });
}
