import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { registerUser, request } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServerProcess, type ServerProcess } from '../support/server.js';
import { closeAllSockets, openNotifications, openRoom, sendMessage, waitFrame } from '../support/ws.js';

/**
 * Two real server processes on one database (docs/api.md, Running several server processes): users
 * on different processes are matched, chat and get each other's events; presence is counted
 * across processes.
 */

let db: TestDatabase;
let one: ServerProcess;
let two: ServerProcess;
before(async () => {
  db = await createTestDatabase();
  // both start at once: start-ups serialize their migrations on the database
  [one, two] = await Promise.all([spawnServerProcess(db.url), spawnServerProcess(db.url)]);
});
after(async () => {
  closeAllSockets();
  await Promise.all([one?.stop(), two?.stop()]);
  await db.drop();
});

test('matched across processes, chatting with sockets on different processes', async () => {
  const a = await registerUser(one.url, { country: 'FR' });
  const b = await registerUser(two.url, { country: 'NG' });
  const notifyA = await openNotifications(one.wsUrl, a);
  const notifyB = await openNotifications(two.wsUrl, b);

  // A waits on process 1, B joins on process 2: A hears of it on process 1
  assert.equal((await request(one.url, 'POST', '/pool/join', { token: a.token })).status, 202);
  const joined = await request(two.url, 'POST', '/pool/join', { token: b.token });
  assert.equal(joined.status, 201);
  const roomId = joined.body.room_id as string;
  assert.deepEqual(await waitFrame(notifyA, 'matched'), { type: 'matched', room_id: roomId });

  // presence is synced once a second: both processes soon count both users
  for (const notify of [notifyA, notifyB]) {
    await waitFrame(notify, (f) => f.type === 'online_count' && f.count === 2, 5000);
  }

  const roomA = await openRoom(one.wsUrl, a, roomId);
  const roomB = await openRoom(two.wsUrl, b, roomId);
  const otherTabA = await openRoom(two.wsUrl, a, roomId);

  // A → B
  const fromA = await sendMessage(roomA, 'hello from process 1', 'a-1');
  const atB = await waitFrame(roomB, 'message');
  assert.equal(atB.id, fromA.id);
  assert.equal(atB.seq, 1);
  assert.notEqual(atB.sender_id, a.id);
  const badgeB = await waitFrame(notifyB, 'new_message');
  assert.deepEqual([badgeB.message_id, badgeB.unread_count, badgeB.id], [fromA.id, 1, atB.sender_id]);
  const own = await waitFrame(otherTabA, 'own_message');
  assert.deepEqual([own.id, own.sender_id, own.client_id], [fromA.id, a.id, 'a-1']);

  // B → A
  const fromB = await sendMessage(roomB, 'hello from process 2', 'b-1');
  assert.equal(fromB.seq, 2);
  assert.equal((await waitFrame(roomA, 'message')).id, fromB.id);
  assert.equal((await waitFrame(notifyA, 'new_message')).message_id, fromB.id);

  // typing, both ways, and only to the partner
  roomA.send({ type: 'typing' });
  await waitFrame(roomB, 'typing');
  roomB.send({ type: 'typing' });
  await waitFrame(roomA, 'typing');
  await waitFrame(otherTabA, 'typing');

  // reads: the partner on the other process hears of it, the reader's badges are recounted
  roomB.send({ type: 'read', id: fromA.id });
  const read = await waitFrame(roomA, 'read');
  assert.equal(read.id, fromA.id);
  await waitFrame(otherTabA, 'read');
  await waitFrame(notifyB, (f) => f.type === 'unread' && f.rooms[0]?.room_id === roomId && f.rooms[0].unread_count === 0);
  roomA.send({ type: 'read', id: fromB.id });
  assert.equal((await waitFrame(roomB, 'read')).id, fromB.id);
  assert.equal(roomA.all('typing').length, 1, 'A never got its own typing back');

  // the same client_id sent through both processes at once is stored once
  roomA.send({ type: 'message', content: 'twice', client_id: 'both' });
  otherTabA.send({ type: 'message', content: 'twice', client_id: 'both' });
  const ackOne = await waitFrame(roomA, (f) => f.type === 'message_ack' && f.client_id === 'both');
  const ackTwo = await waitFrame(otherTabA, (f) => f.type === 'message_ack' && f.client_id === 'both');
  assert.deepEqual([ackTwo.id, ackTwo.seq], [ackOne.id, ackOne.seq]);
  // barrier: a later message reaches B after any second copy would have
  const last = await sendMessage(roomA, 'last', 'a-2');
  await waitFrame(roomB, (f) => f.type === 'message' && f.id === last.id);
  assert.deepEqual(
    roomB.all('message').map((f) => f.id),
    [fromA.id, ackOne.id, last.id],
  );
  const stored = (await request(one.url, 'GET', `/rooms/${roomId}/messages`, { token: a.token })).body as any[];
  assert.deepEqual(
    stored.map((m) => m.content),
    ['hello from process 1', 'hello from process 2', 'twice', 'last'],
  );
  assert.deepEqual(roomA.all('error'), []);
  assert.deepEqual(otherTabA.all('error'), []);
});

test('a room closed through one process closes the sockets on the other', async () => {
  const a = await registerUser(one.url);
  const b = await registerUser(two.url);
  assert.equal((await request(two.url, 'POST', '/pool/join', { token: a.token })).status, 202);
  const joined = await request(one.url, 'POST', '/pool/join', { token: b.token });
  const roomId = joined.body.room_id as string;
  const notifyA = await openNotifications(two.wsUrl, a);
  const roomA = await openRoom(two.wsUrl, a, roomId);
  const roomB = await openRoom(one.wsUrl, b, roomId);

  assert.equal((await request(one.url, 'DELETE', `/rooms/${roomId}`, { token: b.token })).status, 200);
  for (const socket of [notifyA, roomA, roomB]) {
    assert.deepEqual(await waitFrame(socket, 'room_closed'), { type: 'room_closed', room_id: roomId, reason: 'closed' });
  }
});
