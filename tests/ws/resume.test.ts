import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { matchPair } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  closeAllSockets,
  isOpen,
  openRoom,
  pollUntil,
  sendMessage,
  sendPaced,
  seqsOf,
  waitClose,
  waitFrame,
  waitFrames,
} from '../support/ws.js';

/**
 * Resume (?after_seq=N): no gap and no duplicate across reconnects, while the partner keeps
 * sending; the LISTEN connection lost mid-chat; a client too slow to read is closed with 1013.
 */

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  closeAllSockets();
  await server.close();
});

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const message = (prefix: string) => (i: number) => ({ content: `${prefix} ${i}`, client_id: `${prefix}-${i}` });

describe('resume after a disconnect', () => {
  test('a reconnect with after_seq gets exactly the missed messages in order, then live ones', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    let roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    for (let i = 1; i <= 3; i++) await sendMessage(roomB, `before ${i}`, `before-${i}`);
    await waitFrames(roomA, 'message', 3);
    const lastSeen = Math.max(...seqsOf(roomA));
    assert.equal(lastSeen, 3);

    // A's connection drops; meanwhile B sends 5 and A sends one from another tab
    roomA.ws.terminate();
    await waitClose(roomA);
    const missed = [];
    for (let i = 1; i <= 5; i++) missed.push(await sendMessage(roomB, `missed ${i}`, `missed-${i}`));
    const otherTab = await openRoom(server.wsUrl, a, roomId);
    const own = await sendMessage(otherTab, 'from my other tab', 'tab-1');
    otherTab.close();

    roomA = await openRoom(server.wsUrl, a, roomId, lastSeen);
    const replayed = await waitFrames(roomA, (f) => f.type === 'message' || f.type === 'own_message', 6);
    assert.deepEqual(
      replayed.map((f) => [f.type, f.id, f.seq]),
      [...missed.map((ack) => ['message', ack.id, ack.seq]), ['own_message', own.id, own.seq]],
    );
    assert.deepEqual(
      replayed.map((f) => f.seq),
      range(4, 9),
    );
    assert.equal(replayed[5]!.sender_id, a.id);
    assert.equal(replayed[5]!.client_id, 'tab-1');
    assert.notEqual(replayed[0]!.sender_id, b.id);

    const live = await sendMessage(roomB, 'live', 'live-1');
    await waitFrame(roomA, (f) => f.type === 'message' && f.id === live.id);
    assert.deepEqual(seqsOf(roomA), range(4, 10), 'no duplicate, no gap');
  });

  test('a room whose sockets all closed is resumed from the table alone', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const acks = [];
    for (let i = 1; i <= 4; i++) acks.push(await sendMessage(roomB, `m ${i}`, `m-${i}`));
    roomB.close();
    await waitClose(roomB);

    const fromTwo = await openRoom(server.wsUrl, a, roomId, 2);
    assert.deepEqual(
      (await waitFrames(fromTwo, 'message', 2)).map((f) => f.id),
      acks.slice(2).map((f) => f.id),
    );
    const fromZero = await openRoom(server.wsUrl, a, roomId, 0);
    assert.deepEqual(
      (await waitFrames(fromZero, 'message', 4)).map((f) => f.seq),
      [1, 2, 3, 4],
    );
    // a resume point past the end (say, from another device's newer state) is the end
    const beyond = await openRoom(server.wsUrl, a, roomId, 1000);
    const roomB2 = await openRoom(server.wsUrl, b, roomId);
    const next = await sendMessage(roomB2, 'next', 'm-5');
    for (const socket of [fromTwo, fromZero, beyond]) {
      await waitFrame(socket, (f) => f.type === 'message' && f.id === next.id);
    }
    assert.deepEqual(seqsOf(fromTwo), [3, 4, 5]);
    assert.deepEqual(seqsOf(fromZero), [1, 2, 3, 4, 5]);
    assert.deepEqual(seqsOf(beyond), [5]);
  });

  test('200 messages sent while the reader reconnects again and again: every seq exactly once', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const total = 200;
    const sending = sendPaced(roomB, total, message('flood'), { burst: 10, everyMs: 520 });

    // how far each socket reads before it drops: fixed, so a failure can be replayed
    const steps = [3, 17, 1, 9, 25, 4, 12, 2, 30, 7, 14, 5, 21, 8, 11];
    const seen: number[] = [];
    let last = 0;
    let sockets = 0;
    while (last < total) {
      const socket = await openRoom(server.wsUrl, a, roomId, last);
      const target = Math.min(total, last + steps[sockets % steps.length]!);
      await waitFrame(socket, (f) => f.type === 'message' && f.seq >= target, 15_000);
      // both ways of going away: a dead connection, and a clean close
      if (sockets % 2 === 0) socket.ws.terminate();
      else socket.close();
      await waitClose(socket);
      const seqs = seqsOf(socket);
      assert.deepEqual(seqs, range(last + 1, last + seqs.length), `socket ${sockets} resumed after ${last}`);
      seen.push(...seqs);
      last += seqs.length;
      sockets++;
    }
    await sending;
    const acks = await waitFrames(roomB, 'message_ack', total, 10_000);
    assert.deepEqual(roomB.all('error'), []);
    assert.deepEqual(
      acks.map((f) => f.seq),
      range(1, total),
    );
    assert.deepEqual(seen, range(1, total), 'every seq exactly once, in order, across all sockets');
    assert.ok(sockets >= 8, `${sockets} reconnects`);
  });
});

describe('the LISTEN connection lost mid-chat', () => {
  test('every acked message still reaches the partner exactly once, and never comes back to its sender', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const owner = new pg.Client({ connectionString: server.db.url });
    await owner.connect();
    // the listener's backend, as an operator finds it
    const listenerPids = async () =>
      (
        await owner.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and application_name = 'chat-listener'`,
        )
      ).rows.map((r) => r.pid);
    const killListener = async () => {
      await pollUntil('a listener connection', async () => (await listenerPids()).length > 0, 10_000);
      const { rows } = await owner.query<{ killed: boolean }>(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where datname = current_database() and application_name = 'chat-listener'`,
      );
      assert.ok(
        rows.some((r) => r.killed),
        'the listener was terminated',
      );
    };

    try {
      const total = 60;
      let sent = 0;
      for (let burst = 0; sent < total; burst++) {
        if (burst % 2 === 1) await killListener(); // the next burst is stored while it reconnects
        const started = Date.now();
        for (let i = 0; i < 10; i++, sent++) roomB.send({ type: 'message', ...message('listen')(sent) });
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 520 - (Date.now() - started))));
      }
      const acks = await waitFrames(roomB, 'message_ack', total, 10_000);
      assert.deepEqual(roomB.all('error'), []);
      await waitFrame(roomA, (f) => f.type === 'message' && f.seq === total, 15_000);
      const delivered = roomA.all('message');
      assert.deepEqual(
        delivered.map((f) => f.id),
        acks.map((f) => f.id),
        'each acked message once, in order',
      );
      assert.deepEqual(
        delivered.map((f) => f.seq),
        range(1, total),
      );
      // read back from the table after each reconnect, none is echoed to the socket that sent it
      assert.deepEqual(roomB.all('own_message'), [], 'no own_message to the sending socket');

      // and the relay is live again: typing is never stored, it needs the listener
      roomB.send({ type: 'typing' });
      await waitFrame(roomA, 'typing', 10_000);
    } finally {
      await owner.end();
    }
  });
});

describe('backpressure', () => {
  /**
   * The kernel takes a lot before the server's own buffer grows: the server's send buffer can
   * reach tcp_wmem's maximum, the client's receive buffer holds tcp_rmem's default. Past those,
   * 1 MiB more in the server's buffer closes the socket; twice that is sent, to be safe.
   */
  function bytesToOverflow(): number {
    const field = (file: string, index: number, fallback: number) => {
      try {
        return Number(readFileSync(file, 'utf8').trim().split(/\s+/)[index]) || fallback;
      } catch {
        return fallback;
      }
    };
    return field('/proc/sys/net/ipv4/tcp_wmem', 2, 4 << 20) + field('/proc/sys/net/ipv4/tcp_rmem', 1, 128 << 10) + (2 << 20);
  }

  test('a socket that stops reading is closed with 1013; the others keep working and it can resume', async () => {
    // four senders (both members, on two gateways: the rate limit is per user and process)
    const second = await startTestServer({}, server.db);
    try {
      const { a, b, roomId } = await matchPair(server.url);
      const slow = await openRoom(server.wsUrl, a, roomId);
      const watcher = await openRoom(server.wsUrl, a, roomId);
      const senders = [
        await openRoom(server.wsUrl, b, roomId),
        await openRoom(server.wsUrl, a, roomId),
        await openRoom(second.wsUrl, b, roomId),
        await openRoom(second.wsUrl, a, roomId),
      ];
      (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

      const big = '😀'.repeat(4000); // 16,000 bytes of UTF-8: the largest message there is
      const perSender = Math.ceil(bytesToOverflow() / 16_000 / senders.length);
      const total = perSender * senders.length;
      await Promise.all(
        senders.map((socket, k) =>
          sendPaced(socket, perSender, (i) => ({ content: big, client_id: `big-${k}-${i}` }), { burst: 10, everyMs: 520 }),
        ),
      );
      for (const socket of senders) await waitFrames(socket, 'message_ack', perSender, 20_000);
      // the watcher has every message: the server has tried to give each one to the slow socket too
      await waitFrame(watcher, (f) => (f.type === 'message' || f.type === 'own_message') && f.seq === total, 30_000);
      assert.ok(isOpen(watcher));

      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      assert.equal(await waitClose(slow, 10_000), 1013);
      const got = seqsOf(slow);
      assert.ok(got.length < total, `closed before it got everything (${got.length} of ${total})`);
      assert.deepEqual(got, range(1, got.length), 'what it got has no gap');

      // nobody else was slowed down or closed
      for (const socket of [watcher, ...senders]) assert.ok(isOpen(socket));
      const after = await sendMessage(senders[0]!, 'still here', 'after-1');
      await waitFrame(watcher, (f) => f.type === 'message' && f.id === after.id);

      // the slow client resumes from the last seq it got
      const resumed = await openRoom(server.wsUrl, a, roomId, got.at(-1) ?? 0);
      await waitFrame(resumed, (f) => f.type === 'message' && f.id === after.id, 15_000);
      assert.deepEqual(seqsOf(resumed), range(got.length + 1, total + 1));
    } finally {
      closeAllSockets();
      await second.close({ keepDatabase: true });
    }
  });
});
