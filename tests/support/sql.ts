import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import pg from 'pg';
import { parseEnvelope } from '../../src/realtime/envelope-schema.js';
import { TEST_JWT_SECRET } from './server.js';

/**
 * Helpers for tests that talk to the database directly: users without the HTTP round trip (and
 * without paying argon2 per user), owner-only steps inside a gateway transaction, expected SQL
 * errors that keep the transaction usable, and a LISTEN client that waits with deadlines.
 */

/** A real argon2id hash (OWASP parameters, as src/auth/passwords.ts) of PASSWORD. */
export const PASSWORD = 'correct horse';
export const PASSWORD_HASH = '$argon2id$v=19$m=19456,p=1,t=2$+h7q1sUUPfj3xf8AM3dbfQ$UlvdcXOQjT87SaU2EQSFOcaF/J6yujjrxn9qOUue6O0';

export interface SqlUser {
  id: string;
  pseudo: string;
  email: string;
  country: string;
}

/** Registers a user through api.register (works as the gateway role or as the owner). */
export async function sqlUser(client: pg.ClientBase, country = 'FR'): Promise<SqlUser> {
  const pseudo = `u${randomBytes(6).toString('hex')}`;
  const { rows } = await client.query<{ user: SqlUser }>('select api.register($1, $2, $3, $4) as user', [
    pseudo,
    `${pseudo}@example.com`,
    country,
    PASSWORD_HASH,
  ]);
  return rows[0]!.user;
}

/** Many users in one statement, as the owner: [{id, country}] in the order of `countries`. */
export async function insertUsers(client: pg.ClientBase, countries: string[]): Promise<Array<{ id: string; country: string }>> {
  const prefix = `b${randomBytes(4).toString('hex')}`;
  const { rows } = await client.query<{ id: string; country: string; n: number }>(
    `insert into app.users (pseudo, email, country, password_hash)
     select $1 || '_' || n, $1 || '_' || n || '@example.com', c, $3
     from unnest($2::text[]) with ordinality as t(c, n)
     returning id, country, split_part(pseudo, '_', 2)::int as n`,
    [prefix, countries, PASSWORD_HASH],
  );
  return rows.sort((x, y) => x.n - y.n).map(({ id, country }) => ({ id, country }));
}

/** A token the test server accepts for `userId`, signed here instead of through /auth/login. */
export function signToken(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('1h')
    .setIssuer('ephemeral-chat')
    .setAudience('ephemeral-chat-clients')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

/**
 * Inside asGateway(): runs `body` as the owner (what the gateway may not do, e.g. back-dating a
 * row), then returns to the gateway role. Everything is still rolled back at the end.
 */
export async function asOwner<T>(client: pg.ClientBase, body: () => Promise<T>): Promise<T> {
  await client.query('reset role');
  try {
    return await body();
  } finally {
    await client.query('set local role chat_gateway');
  }
}

/**
 * Runs a statement that must fail with SQLSTATE `code`, inside a savepoint so the surrounding
 * transaction goes on. Returns the error for further checks (detail, message).
 */
export async function expectSqlError(client: pg.ClientBase, sql: string, params: unknown[], code: string): Promise<pg.DatabaseError> {
  await client.query('savepoint expect_error');
  let caught: unknown;
  try {
    await client.query(sql, params);
  } catch (error) {
    caught = error;
  }
  await client.query('rollback to savepoint expect_error');
  assert.ok(caught, `expected SQLSTATE ${code}, but the statement succeeded: ${sql}`);
  const error = caught as pg.DatabaseError;
  assert.equal(error.code, code, `expected SQLSTATE ${code}, got ${error.code}: ${error.message}`);
  return error;
}

export type Envelope = Record<string, any> & { type: string };

const MARKER = 'test.marker';

/**
 * A LISTEN chat_events connection that records every envelope. `flush()` sends a marker NOTIFY
 * and waits for it: notifications arrive in commit order, so once the marker is in, every event
 * committed before it is too — "exactly once" can be asserted without sleeping. Every envelope
 * is checked against the envelope's schema (src/realtime/envelope-schema.ts): one the functions
 * emit differently fails the test file, whatever the test asserts.
 */
export class EventListener {
  readonly events: Envelope[] = [];
  /** The size of each payload in bytes, in the order received (NOTIFY refuses 8,000 and more). */
  readonly payloadBytes: number[] = [];
  /** Envelopes that do not match the envelope's schema. */
  readonly violations: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly client: pg.Client) {
    client.on('notification', (n) => {
      if (n.channel !== 'chat_events' || !n.payload) return;
      const event = JSON.parse(n.payload);
      this.events.push(event);
      this.payloadBytes.push(Buffer.byteLength(n.payload));
      const parsed = event.type === MARKER ? undefined : parseEnvelope(event);
      if (parsed && 'problem' in parsed) {
        const problem = `envelope schema: ${parsed.problem}; payload: ${n.payload.slice(0, 300)}`;
        this.violations.push(problem);
        // thrown outside the pg event handler, so it cannot be swallowed: node:test fails the file
        setImmediate(() => {
          throw new Error(problem);
        });
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async start(url: string): Promise<EventListener> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('listen chat_events');
    return new EventListener(client);
  }

  /** Every event received so far that satisfies `match`. */
  all(match: (e: Envelope) => boolean): Envelope[] {
    return this.events.filter(match);
  }

  /** The stored messages of a room announced so far (messages.created envelopes carry several). */
  messages(roomId: string): Envelope[] {
    return this.events
      .filter((e) => e.type === 'messages.created')
      .flatMap((e) => e.messages as Envelope[])
      .filter((m) => m.room === roomId);
  }

  /** Waits until an event satisfies `match`, at most `timeoutMs`. */
  async waitFor(match: (e: Envelope) => boolean, timeoutMs = 5000): Promise<Envelope> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once everything committed before this call has been received. */
  async flush(sender: pg.ClientBase): Promise<void> {
    const marker = randomBytes(8).toString('hex');
    await sender.query(`select pg_notify('chat_events', $1)`, [JSON.stringify({ type: MARKER, marker })]);
    await this.waitFor((e) => e.type === MARKER && e.marker === marker);
  }

  stop(): Promise<void> {
    return this.client.end();
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}
