import type pg from 'pg';
import { RoomFeed, type FeedMessage } from '../../src/realtime/room-feed.js';
import { MAX_BUFFERED_BYTES, type RoomSocket, type RoomSocketData } from '../../src/realtime/sockets.js';

/**
 * Stand-ins for what a RoomFeed talks to (the pool's api.room_feed, uWS room sockets), so its
 * ordering rules can be driven step by step, without a database or a network.
 */

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * A stand-in for the pool: api.room_feed over the messages 1..`total` (all sent by `side`),
 * recording each read and how many frames the socket had been sent by then.
 */
export function fakeTable(total: number, socketFrames: () => number, side: 'a' | 'b' = 'b') {
  const table = {
    total,
    reads: [] as Array<{ after: number; limit: number; framesSentBefore: number }>,
    db: {
      async query(_sql: string, [, after, limit]: [string, number, number]) {
        table.reads.push({ after, limit, framesSentBefore: socketFrames() });
        const rows: FeedMessage[] = range(after + 1, Math.min(table.total, after + limit)).map((seq) => ({
          seq,
          id: `m${seq}`,
          side,
          sender: `user-${side}`,
          alias: `alias-${side}`,
          content: `message ${seq}`,
          client_id: `c${seq}`,
          sent_at: '2026-11-30T00:00:00.000Z',
        }));
        return { rows };
      },
    } as unknown as pg.Pool,
  };
  return table;
}

/** A stand-in for a uWS room socket: records frames; its buffer "fills" after `drainedFrames`. */
export function fakeSocket(afterSeq: number | null, drainedFrames = Infinity) {
  const frames: Array<{ type: string; seq: number }> = [];
  let closedWith: number | undefined;
  const data: RoomSocketData = {
    id: 1,
    userId: 'user-a',
    issuedAt: 0,
    roomId: 'room',
    side: 'a',
    afterSeq,
    lastSeqAtHandshake: afterSeq ?? 0,
    joined: false,
    slot: { release: () => {} },
    waitingFrames: [],
    waitingBytes: 0,
    ackedSeqs: new Set(),
    replies: Promise.resolve(),
    unanswered: 0,
    closed: false,
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
export function joinFeed(db: pg.Pool, pageSize: number, ws: RoomSocket, sendsSettled = async () => {}): Promise<RoomFeed> {
  return new Promise((resolve) => {
    const feed = new RoomFeed('room', db, 'gateway', () => resolve(feed), sendsSettled, pageSize);
    feed.join(ws, () => resolve(feed));
  });
}
