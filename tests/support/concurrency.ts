import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import pg from 'pg';

/**
 * Races between real database connections, in the spirit of PostgreSQL's isolation specs: each
 * step runs on a connection of its own (as the gateway role, committed for real), and a gate makes
 * them start their statements at the same instant instead of one after the other.
 *
 * The gate is an advisory lock. The controller (the owner connection) holds it exclusively; every
 * step's statement first asks for it in shared mode and so waits. Once all of them are seen
 * waiting in pg_locks, the controller lets go and they all run at once.
 */

/** Connections acting as chat_gateway (api.* only): role set in the start-up packet, as src/db/pool.ts does. */
export async function gatewayClients(url: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: url, options: '-c role=chat_gateway' });
      await client.connect();
      return client;
    }),
  );
}

export async function closeAll(clients: pg.Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end()));
}

/** One statement of a race: `sql` returns one row with one column, `result`. */
export interface Step {
  client: pg.Client;
  sql: string;
  params?: unknown[];
}

export type Outcome<T = any> = { ok: true; result: T } | { ok: false; error: pg.DatabaseError };

/** Polls `check` until it holds, at most `timeoutMs`; throws with `what` otherwise. */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** How many backends wait for the advisory lock `key` (a key below 2^31: classid 0). */
async function waitersOn(owner: pg.ClientBase, key: number): Promise<number> {
  const { rows } = await owner.query<{ n: number }>(
    `select count(*)::int as n from pg_locks
      where locktype = 'advisory' and classid = 0 and objid = $1 and objsubid = 1 and not granted`,
    [key],
  );
  return rows[0]!.n;
}

/**
 * Runs every step in a transaction of its own, all released at the same instant, and commits each.
 * Returns each step's result or its SQL error, in the order of `steps` (an error rolls back only
 * that step's transaction).
 */
export async function race<T = any>(owner: pg.ClientBase, steps: Step[]): Promise<Array<Outcome<T>>> {
  const key = randomInt(1, 2 ** 31 - 1);
  await owner.query('select pg_advisory_lock($1)', [key]);
  let released = false;
  try {
    const running = steps.map((step) => runGated<T>(step, key));
    await waitUntil(async () => (await waitersOn(owner, key)) === steps.length, `${steps.length} steps at the gate`);
    await owner.query('select pg_advisory_unlock($1)', [key]);
    released = true;
    return await Promise.all(running);
  } finally {
    if (!released) await owner.query('select pg_advisory_unlock($1)', [key]);
  }
}

async function runGated<T>(step: Step, key: number): Promise<Outcome<T>> {
  const params = step.params ?? [];
  await step.client.query('begin');
  try {
    // the gate and the step in one statement: nothing between the release and the call
    const { rows } = await step.client.query(
      `with gate as materialized (select pg_advisory_xact_lock_shared($${params.length + 1}::bigint))
       select (${step.sql}) as result from gate`,
      [...params, key],
    );
    await step.client.query('commit');
    return { ok: true, result: rows[0].result as T };
  } catch (error) {
    await step.client.query('rollback');
    return { ok: false, error: error as pg.DatabaseError };
  }
}

/** The value of a step that must have succeeded. */
export function okResult<T>(outcome: Outcome<T>, what: string): T {
  if (!outcome.ok) throw new Error(`${what} failed: ${outcome.error.code} ${outcome.error.message}`);
  return outcome.result;
}

/**
 * Runs `count` rounds of a race, all of them even when some fail, then fails with how many did:
 * a race that breaks one round in ten reads differently from one that breaks every round.
 * Each round must set up its own state (new users, its own rows).
 */
export async function rounds(count: number, body: (round: number) => Promise<void>): Promise<void> {
  const failures: string[] = [];
  for (let round = 0; round < count; round++) {
    try {
      await body(round);
    } catch (error) {
      failures.push(`round ${round}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  assert.equal(failures.length, 0, `failed in ${failures.length}/${count} rounds:\n${failures.slice(0, 5).join('\n')}`);
}

/** Whether `client`'s backend waits for a lock right now (pg_stat_activity). */
export async function blockedOnLock(owner: pg.ClientBase, client: pg.Client): Promise<boolean> {
  const pid = (client as unknown as { processID: number }).processID;
  const { rows } = await owner.query<{ waiting: boolean }>(
    `select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = $1`,
    [pid],
  );
  return rows[0]?.waiting === true;
}
