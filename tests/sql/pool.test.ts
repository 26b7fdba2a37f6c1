import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { asGateway, withTestDatabase, type TestDatabase } from '../support/database.js';
import { asOwner, EventListener, expectSqlError, sqlUser, type SqlUser } from '../support/sql.js';

let db: TestDatabase;
let client: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  client = c;
});

const JOIN = 'select api.join_pool($1, $2, $3::interval) as result';

interface JoinResult {
  matched: boolean;
  room?: Record<string, any>;
}

async function join(user: SqlUser, sameCountry = false, ttl = '24 hours'): Promise<JoinResult> {
  const { rows } = await client.query(JOIN, [user.id, sameCountry, ttl]);
  return rows[0].result;
}

/** Joins and asserts the caller now waits. */
async function wait(user: SqlUser, sameCountry = false): Promise<void> {
  assert.deepEqual(await join(user, sameCountry), { matched: false });
}

/** Joins and asserts a room with `waiter` was created; returns it. */
async function matchWith(user: SqlUser, waiter: SqlUser, sameCountry = false): Promise<Record<string, any>> {
  const result = await join(user, sameCountry);
  assert.equal(result.matched, true, `expected ${user.pseudo} to be matched`);
  const { rows } = await asOwner(client, () => client.query('select * from app.rooms where id = $1', [result.room!.id]));
  assert.equal(rows[0].user_a, waiter.id, 'side a is the waiter');
  assert.equal(rows[0].user_b, user.id, 'side b is the joiner');
  return rows[0];
}

const waiting = async (): Promise<string[]> =>
  (await asOwner(client, () => client.query('select user_id from app.pool_entries order by joined_at'))).rows.map((r) => r.user_id);

const backdate = (user: SqlUser, column: 'expires_at' | 'disconnected_at', ago: string) =>
  asOwner(client, () => client.query(`update app.pool_entries set ${column} = now() - $2::interval where user_id = $1`, [user.id, ago]));

describe('api.join_pool', () => {
  test('the first joiner waits, the next is matched into a new room (a = waiter, b = joiner)', () =>
    asGateway(client, async () => {
      const waiter = await sqlUser(client, 'FR');
      const joiner = await sqlUser(client, 'NG');
      await wait(waiter);
      const { rows: entry } = await asOwner(client, () =>
        client.query(
          `select country, same_country, expires_at = now() + interval '15 minutes' as fifteen_minutes, disconnected_at
                      from app.pool_entries where user_id = $1`,
          [waiter.id],
        ),
      );
      assert.deepEqual(entry, [{ country: 'FR', same_country: false, fifteen_minutes: true, disconnected_at: null }]);

      const result = await join(joiner, false, '2 hours 30 minutes');
      assert.equal(result.matched, true);
      const room = result.room!;
      assert.equal(room.me, 'b');
      assert.equal(room.country_a, 'FR');
      assert.equal(room.country_b, 'NG');
      assert.equal(room.partner_country, 'FR');
      assert.equal(room.name, 'Stranger');
      assert.equal(room.user_a_room_name, 'Stranger');
      assert.equal(room.user_b_room_name, 'Stranger');
      assert.equal(room.is_active, true);
      assert.equal(room.unread_count, 0);
      assert.equal(room.last_message, null);
      assert.equal(room.closed_reason, null);

      const { rows } = await asOwner(client, () =>
        client.query(
          `select user_a, user_b, country_a, country_b, closed_at,
                             expires_at = now() + interval '2 hours 30 minutes' as ttl_applied,
                             internal.iso_time(expires_at) as expires_iso
                      from app.rooms where id = $1`,
          [room.id],
        ),
      );
      assert.deepEqual(rows[0], {
        user_a: waiter.id,
        user_b: joiner.id,
        country_a: 'FR',
        country_b: 'NG',
        closed_at: null,
        ttl_applied: true,
        expires_iso: room.expires_at,
      });
      assert.deepEqual(await waiting(), [], 'both left the pool');
    }));

  test('the default room lifetime is 24 hours', () =>
    asGateway(client, async () => {
      const a = await sqlUser(client);
      const b = await sqlUser(client);
      await wait(a);
      const { rows } = await client.query('select api.join_pool($1) as result', [b.id]);
      const { rows: ttl } = await asOwner(client, () =>
        client.query(`select expires_at = now() + interval '24 hours' as ok from app.rooms where id = $1`, [rows[0].result.room.id]),
      );
      assert.equal(ttl[0].ok, true);
    }));

  test('first come, first served: the oldest compatible waiter is taken', () =>
    asGateway(client, async () => {
      // fr_same and de_any cannot be paired with each other, but both suit an any-country FR joiner
      const frSame = await sqlUser(client, 'FR');
      const deAny = await sqlUser(client, 'DE');
      await wait(frSame, true);
      await wait(deAny, false);
      await matchWith(await sqlUser(client, 'FR'), frSame);
      await matchWith(await sqlUser(client, 'FR'), deAny);

      // the other order
      const deAny2 = await sqlUser(client, 'DE');
      const frSame2 = await sqlUser(client, 'FR');
      await wait(deAny2, false);
      await wait(frSame2, true);
      await matchWith(await sqlUser(client, 'FR'), deAny2);
      await matchWith(await sqlUser(client, 'FR'), frSame2);
      assert.deepEqual(await waiting(), []);
    }));

  test('first come, first served among waiters that may not be paired with each other', () =>
    asGateway(client, async () => {
      // a and b share an open room, so both wait side by side
      const a = await sqlUser(client);
      const b = await sqlUser(client);
      await wait(a);
      await matchWith(b, a);
      await wait(a);
      await wait(b);
      assert.deepEqual(await waiting(), [a.id, b.id]);
      const c = await sqlUser(client);
      const d = await sqlUser(client);
      await matchWith(c, a);
      await matchWith(d, b);
    }));

  test('never pairs a user with themself; CPDUP when already waiting', () =>
    asGateway(client, async () => {
      const a = await sqlUser(client);
      await wait(a);
      const error = await expectSqlError(client, JOIN, [a.id, false, '1 hour'], 'CPDUP');
      assert.equal(error.message, 'already in the pool');
      await expectSqlError(client, JOIN, [a.id, true, '1 hour'], 'CPDUP');
      assert.deepEqual(await waiting(), [a.id]);
      // a stale own entry is replaced, never matched
      await backdate(a, 'expires_at', '1 second');
      await wait(a);
      assert.deepEqual(await waiting(), [a.id]);
      const { rows } = await asOwner(client, () =>
        client.query('select count(*)::int as n from app.rooms where $1 in (user_a, user_b)', [a.id]),
      );
      assert.equal(rows[0].n, 0);
    }));

  test('CUNFD for an unknown user', () =>
    asGateway(client, async () => {
      await expectSqlError(client, JOIN, ['00000000-0000-4000-8000-000000000000', false, '1 hour'], 'CUNFD');
    }));

  describe('the country rule applies when either side asked for it', () => {
    for (const waiterSame of [false, true]) {
      for (const joinerSame of [false, true]) {
        for (const sameCountry of [true, false]) {
          const expected = sameCountry || (!waiterSame && !joinerSame);
          test(`waiter same_country=${waiterSame}, joiner same_country=${joinerSame}, ${sameCountry ? 'same' : 'different'} countries: ${expected ? 'matched' : 'both wait'}`, () =>
            asGateway(client, async () => {
              const waiter = await sqlUser(client, 'FR');
              const joiner = await sqlUser(client, sameCountry ? 'FR' : 'JP');
              await wait(waiter, waiterSame);
              if (expected) {
                const room = await matchWith(joiner, waiter, joinerSame);
                assert.equal(room.country_a, 'FR');
                assert.equal(room.country_b, joiner.country);
              } else {
                await wait(joiner, joinerSame);
                assert.deepEqual(await waiting(), [waiter.id, joiner.id]);
              }
            }));
        }
      }
    }
  });

  describe('no rematch with someone one already shares an open room with', () => {
    test('while the room is open both wait; once it is closed they are paired again', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        const b = await sqlUser(client);
        await wait(a);
        const room = await matchWith(b, a);
        await wait(a);
        await wait(b);
        await client.query('select api.leave_pool($1)', [b.id]);
        await client.query('select api.close_room($1, $2)', [a.id, room.id]);
        await matchWith(b, a);
      }));

    test('once the shared room has expired (before any expiry job) they are paired again', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        const b = await sqlUser(client);
        await wait(a);
        const room = await matchWith(b, a);
        await wait(b);
        await wait(a);
        await client.query('select api.leave_pool($1)', [a.id]);
        await asOwner(client, () => client.query(`update app.rooms set expires_at = now() - interval '1 second' where id = $1`, [room.id]));
        await matchWith(a, b);
      }));

    test('a closed room with one partner does not hide an open room with the same partner', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        const b = await sqlUser(client);
        await wait(a);
        const first = await matchWith(b, a);
        await client.query('select api.close_room($1, $2)', [b.id, first.id]);
        await wait(a);
        await matchWith(b, a); // second room, open
        await wait(b);
        await wait(a);
        assert.deepEqual(await waiting(), [b.id, a.id]);
      }));
  });

  describe('entries that no longer count', () => {
    test('an entry past its 15 minutes does not match and does not block re-joining', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        const b = await sqlUser(client);
        await wait(a);
        await backdate(a, 'expires_at', '1 second');
        await wait(b);
        assert.deepEqual(await waiting(), [a.id, b.id]);
        // a joins again: the stale entry is replaced, and a is paired with b who waits now
        await matchWith(a, b);
        assert.deepEqual(await waiting(), []);
      }));

    test('an entry disconnected more than 30 s ago does not match', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        await wait(a);
        await backdate(a, 'disconnected_at', '31 seconds');
        const b = await sqlUser(client);
        await wait(b);
        // and a may join again at once
        await matchWith(a, b);
      }));

    test('an entry disconnected 10 s ago still matches (a page reload keeps its place)', () =>
      asGateway(client, async () => {
        const a = await sqlUser(client);
        await wait(a);
        await backdate(a, 'disconnected_at', '10 seconds');
        await matchWith(await sqlUser(client), a);
      }));
  });
});

describe('api.join_pool_batch', () => {
  const BATCH = 'select api.join_pool_batch($1) as results';
  const batch = async (joins: Array<[SqlUser | { id: string }, boolean]>) =>
    (await client.query(BATCH, [JSON.stringify(joins.map(([user, same], i) => ({ i, user: user.id, same_country: same })))])).rows[0]
      .results;

  test('joins in the given order, each seeing the ones before; a failing join fails alone', () =>
    asGateway(client, async () => {
      const [fr1, ng1, fr2, de1, fr3] = [
        await sqlUser(client, 'FR'),
        await sqlUser(client, 'NG'),
        await sqlUser(client, 'FR'),
        await sqlUser(client, 'DE'),
        await sqlUser(client, 'FR'),
      ];
      const results = await batch([
        [fr1, true], // waits
        [ng1, false], // fr1 insists on FR: waits too
        [fr2, false], // the oldest compatible waiter is fr1
        [ng1, false], // already waiting: fails alone
        [{ id: '00000000-0000-4000-8000-000000000000' }, false], // unknown user
        [de1, false], // ng1
        [fr3, true], // nobody from FR left: waits
      ]);
      assert.deepEqual(
        results.map((r: any) => r.i),
        [0, 1, 2, 3, 4, 5, 6],
      );
      assert.deepEqual(results[0].result, { matched: false });
      assert.deepEqual(results[1].result, { matched: false });
      assert.equal(results[2].result.matched, true);
      assert.equal(results[2].result.room.me, 'b');
      assert.equal(results[2].result.room.partner_country, 'FR');
      assert.deepEqual(results[3].error, { sqlstate: 'CPDUP', message: 'already in the pool' });
      assert.equal(results[4].error.sqlstate, 'CUNFD');
      assert.equal(results[5].result.room.partner_country, 'NG');
      assert.deepEqual(results[6].result, { matched: false });
      assert.deepEqual(await waiting(), [fr3.id]);
    }));
});

describe('api.leave_pool', () => {
  const LEAVE = 'select api.leave_pool($1)';

  test('removes a waiting user; CPNIP when not waiting', () =>
    asGateway(client, async () => {
      const a = await sqlUser(client);
      const error = await expectSqlError(client, LEAVE, [a.id], 'CPNIP');
      assert.equal(error.message, 'not in the pool');
      await wait(a);
      await client.query(LEAVE, [a.id]);
      assert.deepEqual(await waiting(), []);
      await expectSqlError(client, LEAVE, [a.id], 'CPNIP');
      // a user who left is not matched
      await wait(await sqlUser(client));
    }));

  test('CPNIP once matched, and for entries that no longer count', () =>
    asGateway(client, async () => {
      const a = await sqlUser(client);
      const b = await sqlUser(client);
      await wait(a);
      await matchWith(b, a);
      await expectSqlError(client, LEAVE, [a.id], 'CPNIP');
      await expectSqlError(client, LEAVE, [b.id], 'CPNIP');

      const c = await sqlUser(client);
      await wait(c);
      await backdate(c, 'expires_at', '1 second');
      await expectSqlError(client, LEAVE, [c.id], 'CPNIP');
      const d = await sqlUser(client);
      await wait(d);
      await backdate(d, 'disconnected_at', '31 seconds');
      await expectSqlError(client, LEAVE, [d.id], 'CPNIP');
    }));
});

test('a committed match emits room.created naming the waiter', async () => {
  const listener = await EventListener.start(db.url);
  try {
    const a = await sqlUser(client, 'FR');
    const b = await sqlUser(client, 'FR');
    await wait(a, true);
    const result = await join(b, true);
    const event = await listener.waitFor((e) => e.type === 'room.created' && e.room === result.room!.id);
    assert.deepEqual(event, { v: 1, type: 'room.created', room: result.room!.id, users: [a.id, b.id], waiter: a.id });
    await listener.flush(client);
    assert.equal(listener.all((e) => e.type === 'room.created').length, 1);
  } finally {
    await listener.stop();
  }
});
