import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoomFeed } from '../../src/realtime/room-feed.js';
import { fakeSocket, fakeTable, joinFeed } from '../support/fake-feed.js';

/**
 * own_message never goes back to the socket that sent the message, also when the feed reads it
 * from the table (after the listener reconnected: the row carries no origin) before the message's
 * ack has reached the gateway: the refill waits for the send batches in flight, whose acks tell
 * each sending socket's seqs.
 */

/** Resolves once every operation queued on the feed before it has run. */
const barrier = (feed: RoomFeed) => new Promise<void>((resolve) => feed.broadcast(() => void resolve()));

test('a message read back from the table while its ack is in flight is not echoed to its sender', async () => {
  const sender = fakeSocket(null);
  sender.data.side = 'b';
  const otherTab = fakeSocket(null);
  Object.assign(otherTab.data, { side: 'b', id: 2 });
  const table = fakeTable(0, () => 0, 'b');
  let entered!: () => void;
  const waiting = new Promise<void>((resolve) => (entered = resolve));
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const feed = await joinFeed(table.db, 100, sender.ws, () => {
    entered();
    return settled;
  });
  await new Promise<void>((resolve) => feed.join(otherTab.ws, resolve));

  // message 1 of the sender is committed; its NOTIFY was lost with the listener's connection, and
  // the batch that stored it has not answered yet when the listener is back and the feed refills
  table.total = 1;
  feed.catchUp();
  const done = barrier(feed);
  await Promise.race([waiting, done]);
  sender.data.ackedSeqs.add(1); // the batch answers: the ack is on its way to the sender
  settle();
  await done;

  assert.deepEqual(sender.frames, [], 'no own_message to the socket that sent it');
  assert.deepEqual(
    otherTab.frames.map((f) => [f.type, f.seq]),
    [['own_message', 1]],
    'the other tab has it',
  );
  assert.equal(sender.data.ackedSeqs.size, 0, 'forgotten once the feed passed it');
});
