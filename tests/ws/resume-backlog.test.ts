import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { matchPair } from '../support/client.js';
import { fakeSocket, fakeTable, joinFeed } from '../support/fake-feed.js';
import { connect } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openRoom, sendMessage, waitFrame, waitFrames } from '../support/ws.js';

/**
 * Resume of a long backlog: streamed from the table page by page (the gateway holds one page,
 * never a room's whole history), in order, and stopped as soon as the socket fell behind.
 */

import { range } from '../support/fake-feed.js';

describe('resume streams the backlog page by page', () => {
  test('each page is sent before the next one is read, and all arrive in order', async () => {
    const socket = fakeSocket(0);
    const { db, reads } = fakeTable(1050, () => socket.frames.length);
    await joinFeed(db, 100, socket.ws);

    assert.deepEqual(
      socket.frames.map((f) => f.seq),
      range(1, 1050),
    );
    assert.equal(reads.length, 11, 'eleven pages of at most 100');
    reads.forEach((read, page) => {
      assert.equal(read.limit, 100);
      assert.equal(read.after, page * 100, `page ${page} reads after the last one sent`);
      assert.equal(read.framesSentBefore, page * 100, `page ${page} is read only once the ones before were sent`);
    });
    assert.equal(socket.data.joined, true);
  });

  test('a socket that falls behind is closed (1013) and no further page is read', async () => {
    const socket = fakeSocket(0, 250);
    const { db, reads } = fakeTable(5000, () => socket.frames.length);
    await joinFeed(db, 100, socket.ws);

    assert.equal(socket.closedCode(), 1013);
    assert.equal(reads.length, 3, 'the page during which it fell behind was the last one read');
    assert.equal(socket.data.joined, false);
  });
});

describe('refills read only what they need', () => {
  test('a message announced without its content (too big for NOTIFY) is read alone, not with the rest of the room', async () => {
    const socket = fakeSocket(null);
    const table = fakeTable(0, () => socket.frames.length);
    const feed = await joinFeed(table.db, 100, socket.ws);
    table.total = 500; // many more are stored already, each with its own event on the way
    feed.onMessage({
      seq: 1,
      id: 'm1',
      side: 'b',
      sender: 'user-b',
      alias: 'alias-b',
      content: null,
      client_id: 'c1',
      sent_at: '',
      origin: 'x',
    });
    await new Promise<void>((resolve) => feed.broadcast(() => void resolve()));

    assert.deepEqual(
      socket.frames.map((f) => [f.type, f.seq]),
      [['message', 1]],
    );
    assert.deepEqual(
      table.reads.slice(1).map((r) => [r.after, r.limit]),
      [[0, 1]],
      'one row read',
    );
  });
});

describe('resume of a long backlog over a real socket', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    closeAllSockets();
    await server.close();
  });

  test('2,500 stored messages come back in order, exactly once, then live ones', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    // stored the way the gateway stores them, in a few large batches (faster than 20 per second)
    const owner = await connect(server.db.url);
    const total = 2500;
    try {
      for (let from = 1; from <= total; from += 500) {
        const events = range(from, from + 499).map((n, i) => ({
          i,
          kind: 'message',
          room: roomId,
          user: b.id,
          origin: 'elsewhere',
          content: `backlog ${n}`,
          client_id: `b-${n}`,
        }));
        await owner.query('select api.post_events($1)', [JSON.stringify(events)]);
      }
    } finally {
      await owner.end();
    }

    const resumed = await openRoom(server.wsUrl, a, roomId, 0);
    const backlog = await waitFrames(resumed, 'message', total, 30_000);
    assert.deepEqual(
      backlog.map((f) => f.seq),
      range(1, total),
    );
    assert.deepEqual(
      backlog.map((f) => f.content),
      range(1, total).map((n) => `backlog ${n}`),
    );

    const roomB = await openRoom(server.wsUrl, b, roomId);
    const live = await sendMessage(roomB, 'live', `live-${randomUUID()}`);
    await waitFrame(resumed, (f) => f.type === 'message' && f.id === live.id);
    assert.deepEqual(
      resumed.all('message').map((f) => f.seq),
      range(1, total + 1),
      'no duplicate, no gap',
    );
  });
});
