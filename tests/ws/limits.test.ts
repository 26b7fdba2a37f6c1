import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import WebSocket from 'ws';
import { matchPair, registerUser, request, TestSocket, type Response, type TestUser } from '../support/client.js';
import { connect } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openRoom, pollUntil, roomUrl, sendMessage, waitClose, waitFrame } from '../support/ws.js';

/**
 * Every queue and buffer of the gateway has a limit and a defined answer when it is full. The
 * limits are set tiny here; TRUST_PROXY=1 lets each test count its sockets under an address of
 * its own (X-Forwarded-For), so the tests do not share the per-address budget. Sockets opened
 * without that header count under 127.0.0.1 (3 at most): those tests close theirs when done.
 */

const LIMITS = {
  trustProxy: 1,
  roomSocketsPerUser: 2,
  notificationSocketsPerUser: 2,
  socketsPerAddress: 3,
  // one lane, one event per transaction: a blocked insert holds the lane, the next two wait, the fourth is refused
  sendLanes: 1,
  sendBatchMax: 1,
  sendQueueMax: 2,
  poolQueueMax: 2,
};

let server: TestServer;
let owner: pg.Client;
before(async () => {
  server = await startTestServer(LIMITS);
  owner = await connect(server.db.url);
});
after(async () => {
  closeAllSockets();
  await owner.end();
  await server.close();
});

const opened: WebSocket[] = [];
after(() => {
  for (const ws of opened) ws.terminate();
});

let nextAddress = 1;
/** A client address of the test's own, as the (trusted) proxy reports it. */
const newAddress = () => `198.51.100.${nextAddress++}`;

type Outcome = { status: 101; ws: WebSocket } | { status: number; body: any };

/** One handshake from `address`; an accepted socket stays open (closed after the file). */
function handshakeFrom(url: string, address: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { 'x-forwarded-for': address } });
    ws.once('open', () => {
      opened.push(ws);
      resolve({ status: 101, ws });
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    ws.once('error', reject);
  });
}

const notificationsUrl = (user: TestUser) => `${server.wsUrl}/ws/notifications?token=${encodeURIComponent(user.token)}`;

async function closeAndWait(ws: WebSocket): Promise<void> {
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

/** Resolves once the server answered a handshake of the same kind again with 101 (a freed place is reused). */
async function acceptedAgain(url: string, address: string): Promise<void> {
  // the server learns of the close a moment after the client does: poll, bounded
  const deadline = Date.now() + 5000;
  for (;;) {
    const outcome = await handshakeFrom(url, address);
    if (outcome.status === 101) return;
    if (Date.now() > deadline) assert.fail(`still refused: ${JSON.stringify(outcome)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Holds a lock on a table in a transaction of the owner's connection until `release` is called. */
async function holdLock(table: string, mode: string): Promise<{ release: () => Promise<void> }> {
  await owner.query('begin');
  await owner.query(`lock table ${table} in ${mode} mode`);
  return { release: async () => void (await owner.query('rollback')) };
}

/** Until a statement of the gateway waits for a lock (it is then stuck behind the test's lock). */
const someoneWaits = () =>
  pollUntil(
    'a gateway statement waiting for the lock',
    async () => Number((await owner.query('select count(*) as n from pg_locks where not granted')).rows[0].n) > 0,
  );

describe('sockets per user and per address', () => {
  test('a third room socket of a user on one room is refused with 429 before the upgrade; closing one frees its place', async () => {
    const { a, roomId } = await matchPair(server.url);
    const url = roomUrl(server.wsUrl, roomId, a.token);
    const address = newAddress();
    const first = await handshakeFrom(url, address);
    const second = await handshakeFrom(url, newAddress()); // another address: the limit is the user's
    assert.equal(first.status, 101);
    assert.equal(second.status, 101);

    const third = await handshakeFrom(url, newAddress());
    assert.equal(third.status, 429);
    assert.deepEqual((third as { body: any }).body, {
      error: 'too many sockets for this user in this room (at most 2)',
      code: 'too_many_sockets',
    });

    await closeAndWait((first as { ws: WebSocket }).ws);
    await acceptedAgain(url, address);
  });

  test('a third notification socket of a user is refused with 429; closing one frees its place', async () => {
    const user = await registerUser(server.url);
    const first = await handshakeFrom(notificationsUrl(user), newAddress());
    assert.equal(first.status, 101);
    assert.equal((await handshakeFrom(notificationsUrl(user), newAddress())).status, 101);

    const third = await handshakeFrom(notificationsUrl(user), newAddress());
    assert.equal(third.status, 429);
    assert.deepEqual((third as { body: any }).body, {
      error: 'too many notification sockets for this user (at most 2)',
      code: 'too_many_sockets',
    });

    await closeAndWait((first as { ws: WebSocket }).ws);
    await acceptedAgain(notificationsUrl(user), newAddress());
  });

  test('one address holds at most 3 sockets of both kinds, whoever the users; others are not affected', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const other = await registerUser(server.url);
    const address = newAddress();
    assert.equal((await handshakeFrom(roomUrl(server.wsUrl, roomId, a.token), address)).status, 101);
    assert.equal((await handshakeFrom(roomUrl(server.wsUrl, roomId, b.token), address)).status, 101);
    const last = await handshakeFrom(notificationsUrl(other), address);
    assert.equal(last.status, 101);

    for (const url of [notificationsUrl(a), roomUrl(server.wsUrl, roomId, b.token)]) {
      const refused = await handshakeFrom(url, address);
      assert.equal(refused.status, 429);
      assert.deepEqual((refused as { body: any }).body, {
        error: 'too many sockets from this address (at most 3)',
        code: 'too_many_sockets',
      });
    }
    assert.equal((await handshakeFrom(notificationsUrl(a), newAddress())).status, 101, 'another address is not limited');

    await closeAndWait((last as { ws: WebSocket }).ws);
    await acceptedAgain(notificationsUrl(a), address);
  });
});

describe('a handshake abandoned before the upgrade', () => {
  test('gives back the place it took', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const address = newAddress();
    const lock = await holdLock('app.rooms', 'access exclusive'); // the membership check waits
    try {
      const gone = new WebSocket(roomUrl(server.wsUrl, roomId, a.token), { headers: { 'x-forwarded-for': address } });
      gone.on('error', () => {}); // "closed before the connection was established": on purpose
      await someoneWaits();
      await new Promise<void>((resolve) => {
        gone.once('close', () => resolve());
        gone.terminate();
      });
      // one round trip through the gateway: it has seen the connection go before the check ends
      assert.equal((await request(server.url, 'GET', '/health')).status, 200);
    } finally {
      await lock.release();
    }
    // the abandoned handshake passed its checks after its client left: its place must be free again
    for (const user of [a, b, a]) {
      const outcome = await handshakeFrom(roomUrl(server.wsUrl, roomId, user.token), address);
      assert.equal(outcome.status, 101, JSON.stringify(outcome));
    }
  });
});

describe('the send lanes', () => {
  test('past the queue a message is answered at once with unavailable and its client_id; accepted ones are all committed', async () => {
    const busy = await matchPair(server.url);
    const other = await matchPair(server.url);
    const busySocket = await openRoom(server.wsUrl, busy.a, busy.roomId);
    const otherSocket = await openRoom(server.wsUrl, other.a, other.roomId);

    const lock = await holdLock('app.messages', 'share'); // inserts wait, so the lane's flush does
    let acks: Promise<unknown>[];
    try {
      acks = [sendMessage(busySocket, 'in flight', 'held-0', 15_000)];
      await someoneWaits();
      acks.push(sendMessage(busySocket, 'queued 1', 'held-1', 15_000), sendMessage(busySocket, 'queued 2', 'held-2', 15_000));
      // another room on the same lane: its answer does not wait behind the busy socket's
      otherSocket.send({ type: 'message', content: 'one too many', client_id: 'shed-1' });
      const refused = await waitFrame(otherSocket, (f) => f.client_id === 'shed-1', 5000);
      assert.deepEqual(refused, {
        type: 'error',
        code: 'unavailable',
        client_id: 'shed-1',
        message: 'server busy: the message was not stored, retry with the same client_id',
      });
    } finally {
      await lock.release();
    }
    await Promise.all(acks);
    const retried = await sendMessage(otherSocket, 'one too many', 'shed-1');
    assert.equal(retried.seq, 1, 'the refused message was never stored: the retry is the first of its room');
    const stored = await owner.query('select client_id from app.messages where room_id = $1 order by seq', [busy.roomId]);
    assert.deepEqual(
      stored.rows.map((r) => r.client_id),
      ['held-0', 'held-1', 'held-2'],
    );
    closeAllSockets();
  });
});

describe('the pool joiner', () => {
  test('past its queue /pool/join answers 503 with Retry-After at once; the queued joins complete', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => registerUser(server.url)));
    const join = (user: TestUser) => request(server.url, 'POST', '/pool/join', { token: user.token });

    const lock = await holdLock('app.pool_entries', 'exclusive');
    let joins: Promise<Response>[];
    try {
      joins = [join(users[0]!)];
      await someoneWaits(); // the first batch runs, stuck behind the lock
      // three more: two fit the queue, whichever comes last is refused, and at once
      joins.push(...users.slice(1).map(join));
      const first = await Promise.race([
        ...joins.slice(1),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
      ]);
      if (!first) assert.fail('no join beyond the queue was answered within 5 s: all were queued');
      assert.equal(first.status, 503);
      assert.equal(first.headers.get('retry-after'), '1');
      assert.deepEqual(first.body, { error: 'too many pool joins at once, retry shortly', code: 'unavailable' });
    } finally {
      await lock.release();
    }
    const statuses = (await Promise.all(joins)).map((r) => r.status);
    assert.deepEqual(statuses.sort(), [201, 202, 202, 503], 'the first and the two queued ones ran once the lock was gone');
    for (const user of users) await request(server.url, 'POST', '/pool/leave', { token: user.token });
  });
});

describe('a socket that has not joined yet', () => {
  test('more than 256 KiB of frames before the room is joined closes the socket with 1008', async () => {
    const { a, roomId } = await matchPair(server.url);
    const lock = await holdLock('app.messages', 'access exclusive'); // the resume read waits
    try {
      const socket = await TestSocket.open(roomUrl(server.wsUrl, roomId, a.token));
      await someoneWaits();
      const big = JSON.stringify({ type: 'message', content: 'x'.repeat(60 * 1024) });
      for (let i = 0; i < 5; i++) socket.send(big); // 5 frames, 300 KiB
      assert.equal(await waitClose(socket), 1008);
    } finally {
      await lock.release();
    }
  });

  test('more than 256 frames before the room is joined closes the socket with 1008', async () => {
    const { a, roomId } = await matchPair(server.url);
    const lock = await holdLock('app.messages', 'access exclusive');
    try {
      const socket = await TestSocket.open(roomUrl(server.wsUrl, roomId, a.token));
      await someoneWaits();
      for (let i = 0; i < 257; i++) socket.send({ type: 'typing' });
      assert.equal(await waitClose(socket), 1008);
    } finally {
      await lock.release();
    }
  });
});

describe('answers waiting for earlier ones', () => {
  test('a socket that keeps sending while its frames cannot be answered is closed with 1008 past 512 of them', async () => {
    const { a, roomId } = await matchPair(server.url);
    const socket = await openRoom(server.wsUrl, a, roomId);
    const lock = await holdLock('app.messages', 'share');
    try {
      socket.send({ type: 'message', content: 'held', client_id: 'held' });
      await someoneWaits();
      // each is refused at once (not JSON), but its answer waits for the held message's ack
      for (let i = 0; i < 600; i++) socket.send('not json');
      assert.equal(await waitClose(socket), 1008);
    } finally {
      await lock.release();
    }
  });
});
