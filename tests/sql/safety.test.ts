import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { asGateway, withTestDatabase } from '../support/database.js';
import { asOwner, EventListener, expectSqlError, sqlUser, type SqlUser } from '../support/sql.js';

let client: pg.Client;
let url: string;
withTestDatabase((d, c) => {
  url = d.url;
  client = c;
});

const JOIN = 'select api.join_pool($1, $2) as result';

async function join(user: SqlUser, sameCountry = false): Promise<{ matched: boolean; room?: Record<string, any> }> {
  return (await client.query(JOIN, [user.id, sameCountry])).rows[0].result;
}

/** Two new users in a new room: a waited (side a), b joined (side b). */
async function pair(countries: [string, string] = ['FR', 'NG']) {
  const a = await sqlUser(client, countries[0]);
  const b = await sqlUser(client, countries[1]);
  assert.equal((await join(a)).matched, false);
  const joined = await join(b);
  assert.equal(joined.matched, true);
  return { a, b, roomId: joined.room!.id as string };
}

const owner = <T extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []) =>
  asOwner(client, () => client.query<T>(sql, params));
const roomRow = async (roomId: string) => (await owner('select * from app.rooms where id = $1', [roomId])).rows[0];
const block = (user: SqlUser, roomId: string) => client.query('select api.block_room($1, $2)', [user.id, roomId]);
const closeRoom = (user: SqlUser, roomId: string) => client.query('select api.close_room($1, $2)', [user.id, roomId]);
const sendMessages = async (roomId: string, user: SqlUser, contents: string[]) => {
  const events = contents.map((content, i) => ({ i, kind: 'message', room: roomId, user: user.id, origin: 'test', content }));
  const { rows } = await client.query('select api.post_events($1) as results', [JSON.stringify(events)]);
  for (const r of rows[0].results) assert.equal(r.ok, true, JSON.stringify(r));
  return rows[0].results as Array<{ id: string }>;
};

describe('blocks: api.block_room / api.unblock_room / api.blocks', () => {
  /*
   * After a block, the two are never paired again: whoever blocked, whoever waits, whoever joins,
   * with or without the country rule. A third user shows the pool still works for both.
   */
  for (const blocker of ['a', 'b'] as const) {
    for (const firstToWait of ['blocker', 'blocked'] as const) {
      for (const sameCountry of [false, true]) {
        test(`${blocker} blocks, the ${firstToWait} waits first, same_country=${sameCountry}: never paired again`, () =>
          asGateway(client, async () => {
            const { a, b, roomId } = await pair(['FR', 'FR']);
            const blockerUser = blocker === 'a' ? a : b;
            const blockedUser = blocker === 'a' ? b : a;
            await block(blockerUser, roomId);
            const [first, second] = firstToWait === 'blocker' ? [blockerUser, blockedUser] : [blockedUser, blockerUser];
            assert.equal((await join(first, sameCountry)).matched, false);
            assert.equal((await join(second, sameCountry)).matched, false, 'the blocked pair waits side by side');
            const third = await sqlUser(client, 'FR');
            const matched = await join(third, sameCountry);
            assert.equal(matched.matched, true, 'a third user is paired with the first waiter');
            assert.equal((await roomRow(matched.room!.id)).user_a, first.id);
          }));
      }
    }
  }

  test('blocking an open room closes it (reason blocked, content deleted) and emits room.closed once', async () => {
    const listener = await EventListener.start(url);
    try {
      // committed, so the NOTIFY is delivered; the test database is this file's own
      const { a, b, roomId } = await pair();
      await sendMessages(roomId, a, ['hello']);
      await block(b, roomId);
      const room = await roomRow(roomId);
      assert.equal(room.closed_reason, 'blocked');
      assert.ok(room.closed_at);
      assert.equal(Number((await owner('select count(*) from app.messages where room_id = $1', [roomId])).rows[0].count), 0);
      await listener.flush(client);
      const closed = listener.all((e) => e.type === 'room.closed' && e.room === roomId);
      assert.deepEqual(
        closed.map((e) => [e.reason, e.users]),
        [['blocked', [a.id, b.id]]],
      );
      const seen = (await client.query('select api.room($1, $2) as room', [a.id, roomId])).rows[0].room;
      assert.deepEqual([seen.is_active, seen.closed_reason], [false, 'blocked']);
    } finally {
      await listener.stop();
    }
  });

  test('a closed room can be blocked; blocking twice is one block; the list names rooms only, newest first', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      await closeRoom(a, roomId);
      await block(a, roomId);
      await block(a, roomId);
      assert.equal((await roomRow(roomId)).closed_reason, 'closed', 'a closed room keeps its reason');
      const { roomId: second } = await pair();
      await owner('update app.rooms set user_a = $1 where id = $2', [a.id, second]); // a second room of a
      await block(a, second);
      const list = (await client.query('select api.blocks($1) as blocks', [a.id])).rows[0].blocks;
      assert.deepEqual(
        list.map((x: any) => x.room_id),
        [second, roomId],
      );
      for (const entry of list) {
        assert.deepEqual(Object.keys(entry).sort(), ['blocked_at', 'room_id']);
        assert.match(entry.blocked_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      assert.deepEqual((await client.query('select api.blocks($1) as blocks', [b.id])).rows[0].blocks, [], 'the blocked side sees nothing');
    }));

  test('unblocking lets the pair be paired again; CBNFD without a block; CRNFD for non-members', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair();
      await block(a, roomId);
      await expectSqlError(client, 'select api.unblock_room($1, $2)', [b.id, roomId], 'CBNFD');
      await client.query('select api.unblock_room($1, $2)', [a.id, roomId]);
      await expectSqlError(client, 'select api.unblock_room($1, $2)', [a.id, roomId], 'CBNFD');
      assert.equal((await join(a)).matched, false);
      assert.equal((await join(b)).matched, true, 'paired again once the block is lifted');
      const stranger = await sqlUser(client);
      await expectSqlError(client, 'select api.block_room($1, $2)', [stranger.id, roomId], 'CRNFD');
    }));

  test('blocks are rate-limited per user: 30 an hour, then CALIM with a retry-after', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      for (let i = 0; i < 30; i++) await block(a, roomId);
      const error = await expectSqlError(client, 'select api.block_room($1, $2)', [a.id, roomId], 'CALIM');
      assert.ok(Number(error.detail) > 0 && Number(error.detail) <= 3600);
      await owner(`update app.rate_limits set window_start = now() - interval '1 hour' where key = internal.user_action_key($1, 'block')`, [
        a.id,
      ]);
      await block(a, roomId);
    }));
});

describe('reports: api.report_room', () => {
  const REPORT = 'select api.report_room($1, $2, $3, $4, $5, $6, $7::interval, $8::interval)';
  const report = (
    user: SqlUser,
    roomId: string,
    options: { reason?: string; note?: string | null; include?: boolean; threshold?: number; window?: string } = {},
  ) =>
    client.query(REPORT, [
      user.id,
      roomId,
      options.reason ?? 'harassment',
      options.note ?? null,
      options.include ?? false,
      options.threshold ?? 3,
      options.window ?? '24 hours',
      '2 hours',
    ]);
  const reportRow = async (reporter: SqlUser, roomId: string) =>
    (await owner('select * from app.reports where reporter_id = $1 and room_id = $2', [reporter.id, roomId])).rows[0];

  test('keeps the room metadata; with consent the last 50 messages, marked by side; without it no content', () =>
    asGateway(client, async () => {
      const { a, b, roomId } = await pair(['FR', 'NG']);
      await sendMessages(
        roomId,
        a,
        Array.from({ length: 30 }, (_, i) => `a${i + 1}`),
      );
      await sendMessages(
        roomId,
        b,
        Array.from({ length: 30 }, (_, i) => `b${i + 1}`),
      );
      await report(a, roomId, { reason: 'spam', note: '  rude  ', include: true });
      const withConsent = await reportRow(a, roomId);
      assert.equal(withConsent.reported_id, b.id);
      assert.equal(withConsent.reason, 'spam');
      assert.equal(withConsent.note, 'rude');
      assert.deepEqual([withConsent.reporter_country, withConsent.reported_country], ['FR', 'NG']);
      assert.equal(withConsent.messages.length, 50);
      assert.deepEqual(
        withConsent.messages.map((m: any) => m.seq),
        Array.from({ length: 50 }, (_, i) => i + 11),
        'the last 50, in order',
      );
      assert.deepEqual(withConsent.messages[0], { seq: 11, from: 'reporter', content: 'a11', sent_at: withConsent.messages[0].sent_at });
      assert.equal(withConsent.messages.at(-1).from, 'reported');
      assert.equal(withConsent.messages.at(-1).content, 'b30');

      await report(b, roomId, { reason: 'other' });
      const withoutConsent = await reportRow(b, roomId);
      assert.equal(withoutConsent.messages, null);
      assert.equal(withoutConsent.note, null);

      // the evidence outlives the room's content
      await closeRoom(a, roomId);
      assert.equal((await reportRow(a, roomId)).messages.length, 50);
    }));

  test('CVINV for a reason off the list or a note over 500 characters; CRDUP for a second report; CRNFD for non-members', () =>
    asGateway(client, async () => {
      const { a, roomId } = await pair();
      const badReason = await expectSqlError(client, REPORT, [a.id, roomId, 'rude', null, false, 3, '1 day', '1 day'], 'CVINV');
      assert.equal(badReason.column, 'reason');
      const longNote = await expectSqlError(client, REPORT, [a.id, roomId, 'spam', 'x'.repeat(501), false, 3, '1 day', '1 day'], 'CVINV');
      assert.equal(longNote.column, 'note');
      await report(a, roomId, { note: 'x'.repeat(500) });
      await expectSqlError(client, REPORT, [a.id, roomId, 'spam', null, false, 3, '1 day', '1 day'], 'CRDUP');
      const stranger = await sqlUser(client);
      await expectSqlError(client, REPORT, [stranger.id, roomId, 'spam', null, false, 3, '1 day', '1 day'], 'CRNFD');
    }));

  /** `count` users each get a room with `target` and report it. */
  async function reportedBy(target: SqlUser, count: number, window = '24 hours'): Promise<SqlUser[]> {
    const reporters: SqlUser[] = [];
    for (let i = 0; i < count; i++) {
      const reporter = await sqlUser(client, 'FR');
      await owner('delete from app.pool_entries where user_id = $1', [target.id]);
      assert.equal((await join(target)).matched, false);
      const joined = await join(reporter);
      assert.equal(joined.matched, true);
      await report(reporter, joined.room!.id, { window, threshold: 3 });
      reporters.push(reporter);
    }
    return reporters;
  }

  test('reports from 3 distinct users within the window suspend the account from the pool (CPSUS), its entry goes', () =>
    asGateway(client, async () => {
      const target = await sqlUser(client, 'FR');
      await reportedBy(target, 2);
      assert.equal((await join(target)).matched, false, 'two reports: still matched as usual');
      await owner('delete from app.pool_entries where user_id = $1', [target.id]);
      const reporter = await sqlUser(client, 'FR');
      assert.equal((await join(target)).matched, false);
      const room = (await join(reporter)).room!;
      assert.equal((await join(target)).matched, false, 'waiting again when the third report comes');
      await report(reporter, room.id, { threshold: 3 });
      assert.equal((await owner('select count(*)::int as n from app.pool_entries where user_id = $1', [target.id])).rows[0].n, 0);
      const error = await expectSqlError(client, JOIN, [target.id, false], 'CPSUS');
      assert.match(error.message, /^suspended from matching until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z after reports from other users$/);
      const until = (await owner(`select suspended_until = now() + interval '2 hours' as ok from app.users where id = $1`, [target.id]))
        .rows[0];
      assert.equal(until.ok, true, 'suspended for the configured time');
      // once the time has passed, it is matched again
      await owner(`update app.users set suspended_until = now() - interval '1 second' where id = $1`, [target.id]);
      assert.equal((await join(target)).matched, false);
    }));

  test('a user suspended while waiting (the report did not take the pool locks) is never taken as a partner', () =>
    asGateway(client, async () => {
      await owner('delete from app.pool_entries');
      const waiting = await sqlUser(client, 'FR');
      assert.equal((await join(waiting)).matched, false);
      // as if a suspension committed after this entry was made, leaving the entry behind
      await owner(`update app.users set suspended_until = now() + interval '1 hour' where id = $1`, [waiting.id]);
      const joiner = await sqlUser(client, 'FR');
      assert.equal((await join(joiner)).matched, false, 'the suspended user is skipped: the joiner waits');
    }));

  test('reports older than the window do not count; nor do two reports of one user', () =>
    asGateway(client, async () => {
      const target = await sqlUser(client, 'FR');
      const [old] = await reportedBy(target, 1);
      await owner(`update app.reports set created_at = now() - interval '1 hour 1 second' where reporter_id = $1`, [old!.id]);
      await reportedBy(target, 2, '1 hour');
      await owner('delete from app.pool_entries where user_id = $1', [target.id]);
      assert.equal((await join(target)).matched, false, 'the old report fell out of the window: not suspended');

      // a reporter's second room with the target, reported again: still one distinct user
      await owner('delete from app.pool_entries');
      const target2 = await sqlUser(client, 'FR');
      const [twice] = await reportedBy(target2, 2);
      await owner('delete from app.pool_entries where user_id = $1', [target2.id]);
      assert.equal((await join(target2)).matched, false);
      await closeRoom(twice!, (await owner('select id from app.rooms where user_b = $1', [twice!.id])).rows[0].id);
      const again = await join(twice!);
      assert.equal(again.matched, true);
      await report(twice!, again.room!.id);
      await owner('delete from app.pool_entries where user_id = $1', [target2.id]);
      assert.equal((await join(target2)).matched, false, 'three reports from two users: not suspended');
    }));

  test('reports are rate-limited per user: 10 an hour', () =>
    asGateway(client, async () => {
      const reporter = await sqlUser(client, 'FR');
      for (let i = 0; i < 10; i++) {
        const partner = await sqlUser(client, 'FR');
        assert.equal((await join(partner)).matched, false);
        const room = (await join(reporter)).room!;
        await report(reporter, room.id, { threshold: 1000 });
        await closeRoom(reporter, room.id);
      }
      const partner = await sqlUser(client, 'FR');
      await join(partner);
      const room = (await join(reporter)).room!;
      await expectSqlError(client, REPORT, [reporter.id, room.id, 'spam', null, false, 3, '1 day', '1 day'], 'CALIM');
    }));
});

describe('accounts: api.auth_state, api.logout_all, api.change_password, api.delete_account', () => {
  const authState = async (user: { id: string }) => (await client.query('select api.auth_state($1) as s', [user.id])).rows[0].s;

  test('auth_state: null for an unknown user, 0 before any sign-out, then the second after the revocation', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      assert.equal(await authState({ id: '00000000-0000-4000-8000-000000000000' }), null);
      assert.equal(Number(await authState(user)), 0);
      const before = Math.floor(Date.now() / 1000);
      const validFrom = Number((await client.query('select api.logout_all($1) as v', [user.id])).rows[0].v);
      const after = Math.floor(Date.now() / 1000);
      assert.ok(validFrom >= before + 1 && validFrom <= after + 1, `${before} < ${validFrom} <= ${after + 1}`);
      assert.equal(Number(await authState(user)), validFrom);
      // a second revocation (in the same second or later) always moves the instant on
      const next = Number((await client.query('select api.logout_all($1) as v', [user.id])).rows[0].v);
      assert.ok(next >= validFrom + 1);
      await expectSqlError(client, 'select api.logout_all($1)', ['00000000-0000-4000-8000-000000000000'], 'CUNFD');
    }));

  test('change_password stores the hash, revokes, and resets the password-check budget', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      for (let i = 0; i < 5; i++) await client.query('select api.password_check_begin($1)', [user.id]);
      await expectSqlError(client, 'select api.password_check_begin($1)', [user.id], 'CALIM');
      const newHash = '$argon2id$v=19$m=19456,p=1,t=2$bmV3c2FsdA$bmV3aGFzaA';
      const validFrom = Number((await client.query('select api.change_password($1, $2) as v', [user.id, newHash])).rows[0].v);
      assert.equal(Number(await authState(user)), validFrom);
      assert.equal((await client.query('select api.password_check_begin($1) as h', [user.id])).rows[0].h, newHash);
      await expectSqlError(client, 'select api.change_password($1, $2)', [user.id, 'not argon2'], 'CVINV');
    }));

  test('deleting an account leaves no row of the user in any app table, closes open rooms for the partner', async () => {
    const listener = await EventListener.start(url);
    try {
      const { a, b, roomId } = await pair(['FR', 'NG']);
      const { a: c, roomId: closedRoom } = await pair(['FR', 'DE']);
      await sendMessages(roomId, a, ['from a']);
      const [fromB] = await sendMessages(roomId, b, ['from b']);
      await client.query('select api.react($1, $2, $3)', [a.id, fromB!.id, '👍']);
      // a closed room with a third user, blocks and reports both ways, presence, a pool entry, counters
      await owner('update app.rooms set user_b = $1 where id = $2', [a.id, closedRoom]);
      await closeRoom(c, closedRoom);
      await block(a, closedRoom);
      await block(c, closedRoom);
      await client.query(REPORT_ANY, [a.id, closedRoom, 'spam', null, false, 3, '1 day', '1 day']);
      await client.query(REPORT_ANY, [c.id, closedRoom, 'spam', null, true, 3, '1 day', '1 day']);
      await client.query('select api.sync_presence($1, $2, $3)', ['00000000-0000-4000-8000-0000000000aa', [a.id], []]);
      await join(a);
      await client.query('select api.password_check_begin($1)', [a.id]);
      await owner(`insert into app.rate_limits (key, attempts, window_start) values ('user:' || $1 || ' from 127.0.0.1', 1, now())`, [
        a.id,
      ]);

      await client.query('select api.delete_account($1)', [a.id]);

      // every column of every app table: no value is the user's id (or its login key)
      const { rows: columns } = await owner(`
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'app' and data_type in ('uuid', 'text', 'jsonb')`);
      assert.ok(columns.length > 20, 'the scan found the columns');
      for (const { table_name: table, column_name: column, data_type: type } of columns) {
        const test = type === 'uuid' ? `${column} = $1::uuid` : `${column}::text like '%' || $1 || '%'`;
        const { rows } = await owner(`select count(*)::int as n from app.${table} where ${test}`, [a.id]);
        assert.equal(rows[0].n, 0, `app.${table}.${column} still names the deleted user`);
      }
      // the partner's open room was closed and told; b's own rows are untouched
      await listener.flush(client);
      assert.deepEqual(
        listener.all((e) => e.type === 'room.closed' && e.room === roomId).map((e) => e.reason),
        ['closed'],
      );
      assert.deepEqual(
        listener.all((e) => e.type === 'user.deleted').map((e) => e.user),
        [a.id],
      );
      assert.deepEqual((await client.query('select api.my_rooms($1) as r', [b.id])).rows[0].r, []);
      assert.equal(Number(await authState(b)), 0);
      assert.equal(await authState(a), null);
      // c's report about a stays for operators, without a's id; a's report about c is gone
      const { rows: reports } = await owner(
        'select reporter_id, reported_id, messages from app.reports where room_id is null or room_id = $1',
        [closedRoom],
      );
      assert.deepEqual(
        reports.map((r) => [r.reporter_id, r.reported_id]),
        [[c.id, null]],
      );
      await assert.rejects(client.query('select api.delete_account($1)', [a.id]), { code: 'CUNFD' });
    } finally {
      await listener.stop();
    }
  });
});

const REPORT_ANY = 'select api.report_room($1, $2, $3, $4, $5, $6, $7::interval, $8::interval)';
