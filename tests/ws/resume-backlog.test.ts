import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { RoomFeed, type FeedMessage } from '../../src/realtime/room-feed.js';
import { MAX_BUFFERED_BYTES, type RoomSocket, type RoomSocketData } from '../../src/realtime/sockets.js';
import { matchPair } from '../support/client.js';
import { connect } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openRoom, sendMessage, waitFrame, waitFrames } from '../support/ws.js';

/**
 * Resume of a long backlog: streamed from the table page by page (the gateway holds one page,
 * never a room's whole history), in order, and stopped as soon as the socket fell behind.
 */

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** A stand-in for the pool: api.room_feed over `total` stored messages, recording each read. */
function fakeTable(total: number, socketFrames: () => number) {
  const reads: Array<{ after: number; limit: number; framesSentBefore: number }> = [];
  const db = {
    async query(_sql: string, [, after, limit]: [string, number, number]) {
      reads.push({ after, limit, framesSentBefore: socketFrames() });
      const rows: FeedMessage[] = range(after + 1, Math.min(total, after + limit)).map((seq) => ({
        seq, id: `m${seq}`, side: 'b', sender: 'user-b', alias: 'alias-b', content: `message ${seq}`,
        client_id: `c${seq}`, sent_at: '2026-11-30T00:00:00.000Z',
      }));
      return { rows };
    },
  };
  return { db: db as unknown as pg.Pool, reads };
}

/** A stand-in for a uWS room socket: records frames; its buffer "fills" after `drainedFrames`. */
function fakeSocket(afterSeq: number, drainedFrames = Infinity) {
  const frames: Array<{ seq: number }> = [];
  let closedWith: number | undefined;
  const data: RoomSocketData = {
    id: 1, userId: 'user-a', roomId: 'room', side: 'a', afterSeq, lastSeqAtHandshake: afterSeq, joined: false,
    waitingFrames: [], ackedSeqs: new Set(), replies: Promise.resolve(), closed: false,
  };
  const ws = {
    getUserData: () => data,
    cork: (fn: () => void) => fn(),
    send: (frame: string) => frames.push(JSON.parse(frame)),
    getBufferedAmount: () => (frames.length > drainedFrames ? MAX_BUFFERED_BYTES + 1 : 0),
    end: (code: number) => (closedWith = code),
  };
  return { ws: ws as unknown as RoomSocket, frames, data, closedCode: () => closedWith };
}

/**
 * A feed over the fake table; resolves once the socket has joined, or once the feed is empty
 * again (a socket closed while joining never joins).
 */
function joinFeed(db: pg.Pool, pageSize: number, ws: RoomSocket): Promise<void> {
  return new Promise((resolve) => {
    const feed = new RoomFeed('room', db, 'gateway', () => resolve(), async () => {}, pageSize);
    feed.join(ws, () => resolve());
  });
}

describe('resume streams the backlog page by page', () => {
  test('each page is sent before the next one is read, and all arrive in order', async () => {
    const socket = fakeSocket(0);
    const { db, reads } = fakeTable(1050, () => socket.frames.length);
    await joinFeed(db, 100, socket.ws);

    assert.deepEqual(socket.frames.map((f) => f.seq), range(1, 1050));
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
          i, kind: 'message', room: roomId, user: b.id, origin: 'elsewhere', content: `backlog ${n}`, client_id: `b-${n}`,
        }));
        await owner.query('select api.post_events($1)', [JSON.stringify(events)]);
      }
    } finally {
      await owner.end();
    }

    const resumed = await openRoom(server.wsUrl, a, roomId, 0);
    const backlog = await waitFrames(resumed, 'message', total, 30_000);
    assert.deepEqual(backlog.map((f) => f.seq), range(1, total));
    assert.deepEqual(backlog.map((f) => f.content), range(1, total).map((n) => `backlog ${n}`));

    const roomB = await openRoom(server.wsUrl, b, roomId);
    const live = await sendMessage(roomB, 'live', `live-${randomUUID()}`);
    await waitFrame(resumed, (f) => f.type === 'message' && f.id === live.id);
    assert.deepEqual(resumed.all('message').map((f) => f.seq), range(1, total + 1), 'no duplicate, no gap');
  });
});
