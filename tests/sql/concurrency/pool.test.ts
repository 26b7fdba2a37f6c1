import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { blockedOnLock, closeAll, gatewayClients, okResult, race, rounds, waitUntil, type Step } from '../../support/concurrency.js';
import { withTestDatabase, type TestDatabase } from '../../support/database.js';
import { insertUsers } from '../../support/sql.js';

/*
 * The pool's promise under real concurrency: separate connections, released at the same instant,
 * committed. "No two compatible users are ever left waiting side by side", nobody in two rooms,
 * every room a compatible pair, and whoever left the pool is in no room.
 */

let db: TestDatabase;
let owner: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  owner = c;
});

let clients: pg.Client[] = [];

interface Joiner {
  id: string;
  country: string;
  same: boolean;
}

const compatible = (x: Joiner, y: Joiner) => x.id !== y.id && (x.country === y.country || !(x.same || y.same));

/** New users; `spec` is e.g. ['FR', 'DE*'] where * asks for same_country. */
async function joiners(spec: string[]): Promise<Joiner[]> {
  const users = await insertUsers(
    owner,
    spec.map((s) => s.slice(0, 2)),
  );
  return users.map((u, k) => ({ ...u, same: spec[k]!.endsWith('*') }));
}

/** Rounds start from an empty pool, whatever the round before left behind. */
const clearPool = () => owner.query('delete from app.pool_entries');

const joinStep = (client: pg.Client, user: Joiner): Step => ({ client, sql: 'api.join_pool($1, $2)', params: [user.id, user.same] });

/** Joins one after the other (no race): these users are waiting before the race starts. */
async function waitInPool(users: Joiner[]): Promise<void> {
  for (const user of users) {
    const { rows } = await clients[0]!.query('select api.join_pool($1, $2) as result', [user.id, user.same]);
    assert.deepEqual(rows[0].result, { matched: false }, 'set-up: the waiters have nobody to match');
  }
}

/**
 * The pool's invariants over `users` (all new in this round, so no earlier room between them).
 * `left` are users whose leave succeeded. Returns the partner of each paired user.
 */
async function checkPool(users: Joiner[], left: Set<string> = new Set()): Promise<Map<string, string>> {
  const ids = users.map((u) => u.id);
  const byId = new Map(users.map((u) => [u.id, u]));
  const { rows: rooms } = await owner.query<{ user_a: string; user_b: string }>(
    'select user_a, user_b from app.rooms where user_a = any($1) or user_b = any($1)',
    [ids],
  );
  const { rows: entries } = await owner.query<{ user_id: string }>('select user_id from app.pool_entries where user_id = any($1)', [ids]);
  const waiting = new Set(entries.map((e) => e.user_id));

  const partner = new Map<string, string>();
  for (const room of rooms) {
    const a = byId.get(room.user_a);
    const b = byId.get(room.user_b);
    assert.ok(a && b, 'a room pairs two users of this round');
    assert.ok(compatible(a, b), `room pairs ${a.country}/${a.same} with ${b.country}/${b.same}`);
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.ok(!partner.has(me.id), `${me.country}/${me.same} is in two rooms`);
      assert.ok(!waiting.has(me.id), `${me.country}/${me.same} is in a room and still waiting`);
      assert.ok(!left.has(me.id), `${me.country}/${me.same} left the pool (200) but is in a room`);
      partner.set(me.id, other.id);
    }
  }
  for (const user of users) {
    if (!left.has(user.id))
      assert.ok(partner.has(user.id) || waiting.has(user.id), `${user.country}/${user.same} is neither paired nor waiting`);
  }
  const stillWaiting = users.filter((u) => waiting.has(u.id));
  for (const x of stillWaiting) {
    for (const y of stillWaiting) {
      assert.ok(x.id >= y.id || !compatible(x, y), `compatible users wait side by side: ${x.country}/${x.same} and ${y.country}/${y.same}`);
    }
  }
  return partner;
}

/** A fixed cycle of country-rule mixes: every pair of rules meets in some round. */
const MIXES = [
  ['FR', 'DE', 'NG', 'FR', 'DE', 'NG', 'JP', 'BR'], // any country: everyone is compatible
  ['FR*', 'FR*', 'DE*', 'DE*', 'NG*', 'NG*', 'JP*', 'JP*'], // same country, four pairs
  ['FR*', 'FR', 'DE*', 'DE', 'NG*', 'NG', 'JP*', 'JP'], // one of each pair insists
  ['FR*', 'DE', 'FR', 'DE*', 'NG', 'FR*', 'NG*', 'DE'], // a mix of everything
];

describe('concurrent pool joins on separate connections', () => {
  const ROUNDS = 40;
  before(async () => {
    clients = await gatewayClients(db.url, 10);
  });
  after(() => closeAll(clients));

  test(`joins racing joins: ${ROUNDS} rounds of 8 joiners released at once, every country-rule mix`, async () => {
    await rounds(ROUNDS, async (round) => {
      await clearPool();
      const users = await joiners(MIXES[round % MIXES.length]!);
      const outcomes = await race(
        owner,
        users.map((u, k) => joinStep(clients[k]!, u)),
      );
      for (const [k, o] of outcomes.entries()) okResult(o, `join ${k}`);
      await checkPool(users);
    });
  });

  /*
   * api.sync_presence changes waiting users' entries (disconnected_at) about once a second. A
   * joiner that arrives while it does must still take the compatible waiting user, not queue
   * beside them: here the presence transaction is held open across the join, every time.
   */
  test("a join arriving while api.sync_presence holds a waiting user's entry is still paired with them", async () => {
    const [presence, joiner] = [clients[8]!, clients[9]!];
    const cases: Array<[string, string, 'offline' | 'online']> = [
      ['FR', 'DE', 'offline'],
      ['FR*', 'FR', 'offline'],
      ['FR', 'FR*', 'offline'],
      ['NG*', 'NG*', 'offline'],
      ['FR', 'DE', 'online'],
      ['FR*', 'FR', 'online'],
      ['FR', 'FR*', 'online'],
      ['NG*', 'NG*', 'online'],
    ];
    await rounds(cases.length, async (round) => {
      const [waiterSpec, joinerSpec, change] = cases[round]!;
      await clearPool();
      const [waiter, late] = (await joiners([waiterSpec, joinerSpec])) as [Joiner, Joiner];
      await waitInPool([waiter]);
      if (change === 'online') {
        // a tab that closed a moment ago comes back: presence clears disconnected_at
        await owner.query(`update app.pool_entries set disconnected_at = now() - interval '5 seconds' where user_id = $1`, [waiter.id]);
      }
      await presence.query('begin');
      let joining: Promise<pg.QueryResult>;
      try {
        await presence.query(
          'select api.sync_presence($1, $2, $3)',
          change === 'online' ? [randomUUID(), [waiter.id], []] : [randomUUID(), [], [waiter.id]],
        );
        let done = false;
        joining = joiner.query('select api.join_pool($1, $2) as result', [late.id, late.same]).finally(() => (done = true));
        await waitUntil(async () => done || (await blockedOnLock(owner, joiner)), 'the join to finish or to wait for presence');
      } finally {
        await presence.query('commit');
      }
      const { rows } = await joining;
      assert.equal(
        rows[0].result.matched,
        true,
        `${joinerSpec} joining while presence (${change}) holds ${waiterSpec}'s entry was queued beside them`,
      );
      assert.deepEqual(Object.fromEntries(await checkPool([waiter, late])), { [waiter.id]: late.id, [late.id]: waiter.id });
    });
  });

  /*
   * One transaction takes two entries that presence changes in the other order (as a batch of
   * joins does): presence clears the first one's disconnected_at and marks the second one's, while
   * the batch has taken the second and wants the first. Skipping the first queues its joiner beside
   * it; waiting for it instead deadlocks with presence. Neither may happen.
   */
  test('a batch taking two entries that presence is changing neither skips one nor deadlocks', async () => {
    const [presence, batch] = [clients[8]!, clients[9]!];
    await rounds(4, async (round) => {
      await clearPool();
      const [first, second] = (await joiners(['FR*', 'DE*'])) as [Joiner, Joiner];
      const [forSecond, forFirst] = (await joiners(['DE', 'FR'])) as [Joiner, Joiner];
      await waitInPool([first, second]);
      await owner.query(`update app.pool_entries set disconnected_at = now() - interval '5 seconds' where user_id = $1`, [first.id]);
      await batch.query('begin');
      let presenceDone: Promise<Error | null> = Promise.resolve(null);
      try {
        const took = await batch.query('select api.join_pool($1) as result', [forSecond.id]);
        assert.equal(took.rows[0].result.matched, true, 'set-up: the batch takes the second entry');
        let finished = false;
        presenceDone = presence
          .query('select api.sync_presence($1, $2, $3)', [randomUUID(), [first.id], [second.id]])
          .then(
            () => null,
            (error: Error) => error,
          )
          .finally(() => (finished = true));
        await waitUntil(async () => finished || (await blockedOnLock(owner, presence)), 'presence to wait for the batch');
        const { rows } = await batch.query('select api.join_pool($1) as result', [forFirst.id]);
        assert.equal(rows[0].result.matched, true, `round ${round}: the batch skipped the entry presence was changing`);
      } finally {
        await batch.query('commit');
      }
      const presenceError = await presenceDone;
      if (presenceError) throw presenceError; // a deadlock, say
      assert.deepEqual(Object.fromEntries(await checkPool([first, second, forFirst, forSecond])), {
        [first.id]: forFirst.id,
        [forFirst.id]: first.id,
        [second.id]: forSecond.id,
        [forSecond.id]: second.id,
      });
    });
  });

  test(`joins racing api.sync_presence: ${ROUNDS / 2} rounds, presence changing every waiting entry while a batch and single joins take them`, async () => {
    await rounds(ROUNDS / 2, async (round) => {
      await clearPool();
      // four users wait, each for their own country; presence marks them all offline (or back
      // online) while a batch of three joiners and a single joiner, one per country, arrive: all
      // four must be taken, and nothing may deadlock
      const waiters = await joiners(['FR*', 'DE*', 'NG*', 'JP*']);
      const late = await joiners(['FR', 'DE', 'NG', 'JP']);
      await waitInPool(waiters);
      const online = round % 2 === 1;
      if (online)
        await owner.query(`update app.pool_entries set disconnected_at = now() - interval '5 seconds' where user_id = any($1)`, [
          waiters.map((w) => w.id),
        ]);
      const ids = waiters.map((w) => w.id);
      const batch = late.slice(0, 3).map((u, i) => ({ i, user: u.id, same_country: false }));
      const outcomes = await race(owner, [
        { client: clients[0]!, sql: 'api.sync_presence($1, $2, $3)', params: [randomUUID(), online ? ids : [], online ? [] : ids] },
        { client: clients[1]!, sql: 'api.join_pool_batch($1)', params: [JSON.stringify(batch)] },
        joinStep(clients[2]!, late[3]!),
      ]);
      for (const [k, o] of outcomes.entries()) okResult(o, `step ${k}`);
      const partner = await checkPool([...waiters, ...late]);
      for (const w of waiters) assert.ok(partner.has(w.id), 'a waiter was skipped');
    });
  });

  test(`joins racing api.leave_pool: ${ROUNDS} rounds; a user who left is in no room, one who was taken could not leave`, async () => {
    await rounds(ROUNDS, async (round) => {
      await clearPool();
      // two waiters that cannot pair (one leaves), four joiners each compatible with one or both
      const waiters = await joiners(round % 2 === 0 ? ['FR*', 'DE*'] : ['FR', 'DE*']);
      const late = await joiners(['FR', 'FR*', 'DE', 'FR']);
      await waitInPool(waiters);
      const leaver = waiters[0]!;
      const outcomes = await race(owner, [
        { client: clients[0]!, sql: 'api.leave_pool($1)', params: [leaver.id] },
        ...late.map((u, k) => joinStep(clients[k + 1]!, u)),
      ]);
      for (const [k, o] of outcomes.slice(1).entries()) okResult(o, `join ${k}`);
      const leave = outcomes[0]!;
      if (!leave.ok) assert.equal(leave.error.code, 'CPNIP', `leave failed with ${leave.error.message}`);
      const partner = await checkPool([...waiters, ...late], leave.ok ? new Set([leaver.id]) : new Set());
      // a failed leave means a joiner took the leaver first
      assert.equal(
        partner.has(leaver.id),
        !leave.ok,
        `leave ${leave.ok ? 'succeeded' : 'failed'} but the leaver is ${partner.has(leaver.id) ? '' : 'not '}in a room`,
      );
    });
  });
});
