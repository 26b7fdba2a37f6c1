import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startListener } from '../../src/listener.js';
import { connect, withTestDatabase, type TestDatabase } from '../support/database.js';
import type pg from 'pg';

/**
 * The LISTEN connection through a TCP proxy that the test cuts: the listener tries again at a
 * short fixed interval (as the pool does at its next query), not on a backoff that keeps
 * deliveries behind the acks; and a connection whose LISTEN failed is not taken for a working one.
 */

let database: TestDatabase;
let owner: pg.Client;
withTestDatabase((db, client) => {
  database = db;
  owner = client;
});

/** Forwards to PostgreSQL, or refuses (`down`), or cuts a connection the moment it sends LISTEN. */
class CuttableProxy {
  down = false;
  cutListens = 0;
  /** When each connection attempt arrived. */
  readonly attempts: number[] = [];
  private readonly open = new Set<net.Socket>();
  private server!: net.Server;

  async start(target: number): Promise<number> {
    this.server = net.createServer((client) => {
      this.attempts.push(Date.now());
      if (this.down) return void client.destroy();
      const upstream = net.connect(target, '127.0.0.1');
      this.open.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      client.on('data', (chunk) => {
        if (this.cutListens > 0 && /listen chat_events/i.test(chunk.toString('latin1'))) {
          this.cutListens--;
          return close();
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Every connection through the proxy dies at once (a restart, a cut network). */
  cutAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
async function within(ms: number, what: string, check: () => boolean): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

test('the listener comes back within a retry interval of the database, even after failed LISTENs', async () => {
  const proxy = new CuttableProxy();
  const url = new URL(database.url);
  url.port = String(await proxy.start(Number(url.port)));
  url.hostname = '127.0.0.1';
  const events: unknown[] = [];
  let reconnections = 0;
  const listener = await startListener(
    url.toString(),
    (event) => events.push(event),
    () => reconnections++,
  );
  const probe = async (n: number) => {
    const before = events.length;
    await owner.query(`select pg_notify('chat_events', $1)`, [JSON.stringify({ v: 1, type: 'probe', n })]);
    await within(5000, `probe ${n} relayed`, () => events.length > before);
  };
  try {
    await probe(1);

    // an outage of two seconds: every attempt refused
    proxy.down = true;
    proxy.cutAll();
    const outageStarted = Date.now();
    await within(5000, 'an outage of 2 s', () => Date.now() - outageStarted >= 2000);
    const during = proxy.attempts.filter((t) => t >= outageStarted);
    const gaps = during.slice(1).map((t, i) => t - during[i]!);
    assert.ok(during.length >= 8, `${during.length} attempts in 2 s`);
    assert.ok(Math.max(...gaps) < 500, `at most ${Math.max(...gaps)} ms between two attempts`);

    // back, but the first two LISTENs fail (the connection dies under them): neither counts
    proxy.cutListens = 2;
    proxy.down = false;
    const backAt = Date.now();
    const lag = await within(3000, 'listening again', () => reconnections === 1);
    assert.equal(proxy.cutListens, 0, 'both failed LISTENs were tried again');
    assert.ok(lag < 1500, `listening again ${lag} ms after the database came back`);
    assert.ok(Date.now() - backAt < 3000);
    await probe(2);
  } finally {
    await listener.stop();
    await proxy.stop();
  }
});

test('a listener stopped while the database is away stays stopped', async () => {
  const proxy = new CuttableProxy();
  const url = new URL(database.url);
  url.port = String(await proxy.start(Number(url.port)));
  const listener = await startListener(
    url.toString(),
    () => {},
    () => assert.fail('reconnected after stop'),
  );
  proxy.down = true;
  proxy.cutAll();
  await within(2000, 'a failed attempt', () => proxy.attempts.length >= 3);
  await listener.stop();
  const attempts = proxy.attempts.length;
  proxy.down = false;
  // another connection through the proxy (the owner's) shows the proxy answers; the listener stays away
  const other = await connect(url.toString());
  await other.end();
  assert.equal(proxy.attempts.length, attempts + 1, 'no attempt after stop()');
  await proxy.stop();
});
