import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ChatClient } from './support/chat-client.js';
import { createRooms, eventually, FaultDatabase, Gateway } from './support/cluster.js';
import { collectFigures, summary, type Pair } from './support/verdict.js';

/**
 * Faults under load, on real gateway processes and a PostgreSQL of this file's own: a gateway
 * killed (-9), the LISTEN connection terminated, PostgreSQL restarted, one of two gateways lost,
 * every client reconnecting at once. Clients behave as the contract asks of them (client_id on
 * every message, resume with after_seq, unacked sends retried with the same client_id); the
 * verdict: every acked message delivered exactly once to the partner, seqs without gap or
 * reorder, one stored row per client_id, nothing left unacked, no own_message to the socket that
 * sent it, gateways alive and without error-level logs. Each scenario prints its figures.
 */

const PAIRS = 6;
const SEND_EVERY_MS = 100; // 10 messages per second per client, under the 20/s rate limit

let database: FaultDatabase;
before(async () => {
  database = await FaultDatabase.start();
});
after(async () => {
  await database?.stop();
});

interface Scene {
  gateways: Gateway[];
  pairs: Pair[];
  clients: ChatClient[];
  /** Resolves once `count` more messages have been acked (load flowing), from now. */
  acks(count: number): Promise<void>;
}

/**
 * Starts `gatewayCount` gateways and PAIRS chatting pairs (a pair's two members on different
 * gateways when there are two), runs `fault` while they send, lets every client finish, and
 * checks the verdict. `survivors` are the gateways expected alive at the end.
 */
async function scenario(
  name: string,
  gatewayCount: number,
  fault: (scene: Scene) => Promise<void>,
  survivors: (gateways: Gateway[]) => Gateway[] = (gateways) => gateways,
): Promise<void> {
  const gateways = Array.from({ length: gatewayCount }, (_, i) => new Gateway(`${name} #${i + 1}`, database.url));
  await Promise.all(gateways.map((g) => g.start()));
  const pairs: Pair[] = [];
  try {
    const rooms = await createRooms(database.url, PAIRS);
    const around = (first: number) => gateways.map((_, i) => gateways[(first + i) % gatewayCount]!);
    for (const [i, { roomId, a, b }] of rooms.entries()) {
      pairs.push({
        roomId,
        a: new ChatClient(`r${i}a`, a, roomId, around(i)),
        b: new ChatClient(`r${i}b`, b, roomId, around(i + 1)),
      });
    }
    const clients = pairs.flatMap((p) => [p.a, p.b]);
    await Promise.all(clients.map((c) => c.connect()));
    for (const client of clients) client.startSending(SEND_EVERY_MS);
    const totalAcked = () => clients.reduce((sum, c) => sum + c.acked, 0);

    await fault({
      gateways,
      pairs,
      clients,
      async acks(count) {
        const target = totalAcked() + count;
        await eventually(`${count} more acks`, () => totalAcked() >= target);
      },
    });

    for (const client of clients) client.stopSending();
    // the end: every send acked (retries included), then every acked message at its partner
    const settled = await eventually('every send acked', () => clients.every((c) => c.unacked.size === 0), 30_000)
      .then(() => eventually('every acked message delivered', () => pairs.every(({ a, b }) => delivered(a, b) && delivered(b, a))))
      .then(
        () => true,
        () => false,
      );
    const figures = await collectFigures(database.url, pairs);
    console.log(summary(name, figures));

    assert.ok(settled, `the scenario settled (${summary(name, figures)})`);
    assert.equal(figures.lost, 0, 'lost');
    assert.equal(figures.duplicated, 0, 'duplicated');
    assert.equal(figures.reordered, 0, 'reordered');
    assert.equal(figures.ownEchoes, 0, 'own_message to the socket that sent it');
    assert.equal(figures.unacked, 0, 'unacked');
    assert.equal(figures.conflictingAcks, 0, 'one client_id acked as two messages');
    assert.equal(figures.gaps, 0, 'seqs nobody was told of');
    assert.equal(figures.storedWrong, 0, 'one stored row per client_id');
    assert.deepEqual(figures.surprises, []);
    assert.ok(figures.acked > 0 && figures.acked === figures.delivered);
    for (const gateway of survivors(gateways)) {
      assert.ok(await gateway.healthy(), `${gateway.name} alive`);
      assert.deepEqual(gateway.errorLines(), [], `${gateway.name} logged no error`);
    }
  } finally {
    for (const { a, b } of pairs) {
      a.close();
      b.close();
    }
    await Promise.all(gateways.map((g) => g.stop()));
  }
}

function delivered(sender: ChatClient, partner: ChatClient): boolean {
  for (const { ack } of sender.sent.values()) if (ack && !partner.received.has(ack.id)) return false;
  return true;
}

/** The owner's view of the listener backends (found by application_name, as an operator would). */
async function listenerPids(owner: pg.Client): Promise<number[]> {
  const { rows } = await owner.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database() and application_name = 'chat-listener'`,
  );
  return rows.map((r) => r.pid);
}

describe('faults under load', () => {
  test('a gateway killed with -9, then started again', async () => {
    await scenario('gateway kill -9 and restart', 1, async ({ gateways: [gateway], acks }) => {
      await acks(150);
      await gateway!.kill();
      await gateway!.start();
      await acks(150);
    });
  });

  test('the LISTEN connection terminated three times', async () => {
    await scenario('LISTEN connection terminated x3', 1, async ({ acks }) => {
      const owner = new pg.Client({ connectionString: database.url });
      await owner.connect();
      try {
        for (let round = 0; round < 3; round++) {
          await acks(100);
          const [pid] = await listenerPids(owner);
          assert.ok(pid, 'the listener shows in pg_stat_activity as chat-listener');
          await owner.query('select pg_terminate_backend($1)', [pid]);
          await eventually('a new listener', async () => (await listenerPids(owner)).some((p) => p !== pid), 5_000);
        }
        await acks(100);
      } finally {
        await owner.end();
      }
    });
  });

  test('PostgreSQL restarted: deliveries resume with the acks', async () => {
    await scenario('PostgreSQL restart', 1, async ({ gateways: [gateway], pairs, clients, acks }) => {
      await acks(150);
      await database.restart(async () => {
        // meanwhile HTTP answers 503 unavailable (the contract's shape), not 500
        const res = await fetch(`${gateway!.url}/rooms/me`, { headers: { authorization: `Bearer ${pairs[0]!.a.member.token}` } });
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { code: string }).code, 'unavailable');
      });
      const restarted = Date.now();
      await acks(150);
      // the first ack and the first delivery after the restart: the listener is as quick as the pool
      const firstAfter = (times: number[]) => Math.min(...times.filter((t) => t >= restarted));
      const ackAt = Math.min(...clients.map((c) => firstAfter(c.ackTimes)));
      const deliveryAt = Math.min(...clients.map((c) => firstAfter(c.receiveTimes)));
      console.log(`PostgreSQL restart: acks again ${ackAt - restarted} ms after the restart, deliveries ${deliveryAt - restarted} ms`);
      assert.ok(deliveryAt - ackAt < 1000, `deliveries lag acks by ${deliveryAt - ackAt} ms`);
    });
  });

  test('two gateways, one killed: its clients move to the other', async () => {
    await scenario(
      'two gateways, one killed',
      2,
      async ({ gateways: [, second], acks }) => {
        await acks(150);
        await second!.kill();
        await acks(150);
      },
      ([first]) => [first!],
    );
  });

  test('a reconnect storm: every client drops its socket at once, three times', async () => {
    await scenario('client reconnect storm', 2, async ({ clients, acks }) => {
      for (let round = 0; round < 3; round++) {
        await acks(100);
        for (const client of clients) client.drop();
      }
      await acks(100);
    });
  });
});
