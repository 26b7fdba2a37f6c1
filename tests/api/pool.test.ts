import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { registerUser, request, type TestUser } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { insertUsers, mapLimit, signToken } from '../support/sql.js';

const ROOM_TTL_MS = 2 * 3_600_000;

describe('POST /pool/join and /pool/leave', () => {
  let server: TestServer;
  let owner: pg.Client;
  withTestServer(
    (s, o) => {
      server = s;
      owner = o;
    },
    { roomTtlMs: ROOM_TTL_MS },
  );

  const join = (user: TestUser, body?: unknown) => request(server.url, 'POST', '/pool/join', { token: user.token, body });
  const leave = (user: TestUser) => request(server.url, 'POST', '/pool/leave', { token: user.token });
  /** Every test leaves the pool as it found it: empty. */
  const assertPoolEmpty = async () => assert.deepEqual((await owner.query('select user_id from app.pool_entries')).rows, []);

  test('202 waiting, then 201 with the room for the next joiner', async () => {
    const a = await registerUser(server.url, { country: 'FR' });
    const b = await registerUser(server.url, { country: 'NG' });
    const waiting = await join(a);
    assert.equal(waiting.status, 202);
    assert.deepEqual(waiting.body, { message: 'waiting for a match' });

    const matched = await join(b, { same_country: false });
    assert.equal(matched.status, 201);
    assert.deepEqual(Object.keys(matched.body).sort(), ['room', 'room_id']);
    const room = matched.body.room;
    assert.equal(room.id, matched.body.room_id);
    assert.equal(room.me, 'b');
    assert.equal(room.country_a, 'FR');
    assert.equal(room.country_b, 'NG');
    assert.equal(room.partner_country, 'FR');
    assert.equal(room.name, 'Stranger');
    assert.equal(room.is_active, true);
    assert.equal(room.closed_reason, null);
    // ROOM_TTL decides expires_at
    assert.equal(Date.parse(room.expires_at) - Date.parse(room.created_at), ROOM_TTL_MS);

    const forA = await request(server.url, 'GET', `/rooms/${room.id}`, { token: a.token });
    assert.equal(forA.status, 200);
    assert.equal(forA.body.me, 'a');
    await assertPoolEmpty();
  });

  test('409 "already in the pool" while waiting; 200 "left the pool"; then 404 "not in the pool"', async () => {
    const a = await registerUser(server.url);
    assert.equal((await join(a, {})).status, 202);
    const again = await join(a, { same_country: true });
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, { error: 'already in the pool', code: 'already_in_pool' });

    const left = await leave(a);
    assert.equal(left.status, 200);
    assert.deepEqual(left.body, { message: 'left the pool' });
    const notIn = await leave(a);
    assert.equal(notIn.status, 404);
    assert.deepEqual(notIn.body, { error: 'not in the pool', code: 'not_in_pool' });
    await assertPoolEmpty();
  });

  test('404 on leave once matched', async () => {
    const a = await registerUser(server.url);
    const b = await registerUser(server.url);
    assert.equal((await join(a)).status, 202);
    assert.equal((await join(b)).status, 201);
    for (const user of [a, b]) assert.equal((await leave(user)).status, 404);
  });

  test('same_country: true is honoured', async () => {
    const a = await registerUser(server.url, { country: 'JP' });
    const b = await registerUser(server.url, { country: 'BR' });
    const c = await registerUser(server.url, { country: 'JP' });
    assert.equal((await join(a, { same_country: true })).status, 202);
    assert.equal((await join(b)).status, 202);
    const matched = await join(c);
    assert.equal(matched.status, 201);
    assert.equal(matched.body.room.country_a, 'JP');
    assert.equal((await leave(b)).status, 200);
    await assertPoolEmpty();
  });

  test('400 for a body that is not an object with an optional boolean same_country', async () => {
    const a = await registerUser(server.url);
    for (const body of [
      [1],
      [],
      { same_country: 'yes' },
      { same_country: null },
      { same_country: 1 },
      { other: 1 },
      { same_country: true, other: 1 },
      'true',
      1,
      true,
    ]) {
      const res = await join(a, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'invalid_request', JSON.stringify(body));
      assert.match(
        res.body.error,
        /^(body must be a JSON object|same_country must be true or false|\w+ is not a known field)$/,
        JSON.stringify(res.body),
      );
    }
    const notJson = await request(server.url, 'POST', '/pool/join', {
      token: a.token,
      rawBody: '{"same_country":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'invalid_json');
    await assertPoolEmpty();
  });

  test('401 without a token or with a bad one', async () => {
    for (const path of ['/pool/join', '/pool/leave']) {
      const missing = await request(server.url, 'POST', path);
      assert.equal(missing.status, 401);
      assert.deepEqual(missing.body, { error: 'missing authorization', code: 'missing_authorization' });
      const bad = await request(server.url, 'POST', path, { token: 'not.a.token' });
      assert.equal(bad.status, 401);
      assert.deepEqual(bad.body, { error: 'invalid or expired token', code: 'invalid_token' });
    }
  });
});

/*
 * Many users join at the same instant. Users are inserted as the owner with a fixed argon2id hash
 * and get tokens signed here (1,000 argon2 hashes would cost tens of seconds of CPU); the
 * requests themselves are real HTTP joins, all in flight together.
 */
describe('concurrent joins', () => {
  const USERS = 1000;
  const COUNTRIES = ['FR', 'DE', 'NG', 'JP', 'BR'];

  let server: TestServer;
  let owner: pg.Client;
  withTestServer((s, o) => {
    server = s;
    owner = o;
  });

  interface Joiner {
    id: string;
    country: string;
    same: boolean;
    token: string;
  }

  const compatibleByCountry = (x: Joiner, y: Joiner) => x.country === y.country || !(x.same || y.same);

  /** All join at once; returns the HTTP status and room id per user. */
  async function joinAll(joiners: Joiner[]) {
    return Promise.all(
      joiners.map(async (user, k) => {
        // the same intent written the three ways a client may: no body, {}, an explicit flag
        const body = user.same ? { same_country: true } : [undefined, {}, { same_country: false }][k % 3];
        const res = await request(server.url, 'POST', '/pool/join', { token: user.token, body });
        assert.ok(res.status === 201 || res.status === 202, `join: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 201) {
          assert.equal(res.body.room.me, 'b');
          assert.equal(res.body.room_id, res.body.room.id);
        }
        return { user, status: res.status, roomId: res.status === 201 ? (res.body.room_id as string) : undefined };
      }),
    );
  }

  async function roomsSince(since: Date) {
    const { rows } = await owner.query<{ id: string; user_a: string; user_b: string; country_a: string; country_b: string }>(
      'select id, user_a, user_b, country_a, country_b from app.rooms where created_at >= $1',
      [since],
    );
    return rows;
  }

  async function waitingIds(): Promise<Set<string>> {
    return new Set((await owner.query<{ user_id: string }>('select user_id from app.pool_entries')).rows.map((r) => r.user_id));
  }

  /** The invariants of one round of simultaneous joins. */
  async function checkRound(
    joiners: Joiner[],
    outcomes: Awaited<ReturnType<typeof joinAll>>,
    rooms: Awaited<ReturnType<typeof roomsSince>>,
    sharesOpenRoom: (x: string, y: string) => boolean,
  ) {
    const byId = new Map(joiners.map((u) => [u.id, u]));
    const outcomeOf = new Map(outcomes.map((o) => [o.user.id, o]));
    const waiting = await waitingIds();

    // every user is in at most one new room
    const roomOf = new Map<string, string>();
    for (const room of rooms) {
      for (const user of [room.user_a, room.user_b]) {
        assert.ok(!roomOf.has(user), `user ${user} is in two new rooms`);
        roomOf.set(user, room.id);
      }
    }

    for (const room of rooms) {
      const a = byId.get(room.user_a);
      const b = byId.get(room.user_b);
      assert.ok(a && b, 'a new room pairs two of the joiners');
      assert.notEqual(a.id, b.id);
      assert.ok(compatibleByCountry(a, b), `room ${room.id} pairs ${a.country}/${a.same} with ${b.country}/${b.same}`);
      assert.equal(room.country_a, a.country);
      assert.equal(room.country_b, b.country);
      // the joiner learnt of it from its 201, the waiter had its 202
      assert.equal(outcomeOf.get(b.id)!.status, 201);
      assert.equal(outcomeOf.get(b.id)!.roomId, room.id);
      assert.equal(outcomeOf.get(a.id)!.status, 202);
      assert.ok(!sharesOpenRoom(a.id, b.id), 'never rematched with a partner of an open room');
    }

    for (const { user, status, roomId } of outcomes) {
      if (status === 201) {
        assert.equal(roomOf.get(user.id), roomId);
        assert.ok(!waiting.has(user.id));
      } else {
        // a waiter was either taken by a later joiner or still waits: never both, never neither
        assert.ok(
          roomOf.has(user.id) !== waiting.has(user.id),
          `waiter ${user.id}: room ${roomOf.get(user.id)}, waiting ${waiting.has(user.id)}`,
        );
      }
    }

    // no two compatible users are left waiting side by side
    const left = [...waiting].map((id) => byId.get(id)).filter((u): u is Joiner => u !== undefined);
    for (let x = 0; x < left.length; x++) {
      for (let y = x + 1; y < left.length; y++) {
        const [p, q] = [left[x]!, left[y]!];
        assert.ok(
          !compatibleByCountry(p, q) || sharesOpenRoom(p.id, q.id),
          `${p.id} (${p.country}, same=${p.same}) and ${q.id} (${q.country}, same=${q.same}) both wait`,
        );
      }
    }
    return { roomOf, waiting };
  }

  test(`${USERS} users join at the same instant: every pairing is valid and nobody compatible is left waiting`, async () => {
    const countries = Array.from({ length: USERS }, (_, k) => COUNTRIES[k % COUNTRIES.length]!);
    const inserted = await insertUsers(owner, countries);
    const joiners: Joiner[] = await Promise.all(
      inserted.map(async (u, k) => ({
        ...u,
        same: k % 7 < 2, // about 2 in 7 insist on their own country
        token: await signToken(u.id),
      })),
    );

    // round 1: everybody at once
    const start1 = (await owner.query<{ now: Date }>('select now()')).rows[0]!.now;
    const round1 = await joinAll(joiners);
    const rooms1 = await roomsSince(start1);
    assert.ok(rooms1.length >= USERS / 2 - COUNTRIES.length, `only ${rooms1.length} rooms for ${USERS} users`);
    const { roomOf, waiting } = await checkRound(joiners, round1, rooms1, () => false);

    // each joiner's room is there for its partner, from side a
    await mapLimit(rooms1, 32, async (room) => {
      const waiter = joiners.find((u) => u.id === room.user_a)!;
      const res = await request(server.url, 'GET', '/rooms/me', { token: waiter.token });
      assert.equal(res.status, 200);
      const mine = res.body.filter((r: { id: string }) => r.id === room.id);
      assert.equal(mine.length, 1, `room ${room.id} missing for its waiter`);
      assert.equal(mine[0].me, 'a');
    });

    // round 2: everyone who is not waiting joins again, all at once. Partners of round 1 still
    // share an open room and must not be paired again.
    const partnerOf = new Map<string, string>();
    for (const room of rooms1) {
      partnerOf.set(room.user_a, room.user_b);
      partnerOf.set(room.user_b, room.user_a);
    }
    const again = joiners.filter((u) => !waiting.has(u.id));
    assert.ok(again.every((u) => roomOf.has(u.id)));
    const start2 = (await owner.query<{ now: Date }>('select now()')).rows[0]!.now;
    const round2 = await joinAll(again);
    const rooms2 = (await roomsSince(start2)).filter((r) => !rooms1.some((old) => old.id === r.id));
    // round-1 waiters may be taken now: count them as having waited (202) in this round
    const outcomes2 = [...round2, ...joiners.filter((u) => waiting.has(u.id)).map((user) => ({ user, status: 202, roomId: undefined }))];
    await checkRound(joiners, outcomes2, rooms2, (x, y) => partnerOf.get(x) === y);
    assert.ok(rooms2.length >= again.length / 2 - 4 * COUNTRIES.length, `only ${rooms2.length} rooms in round 2`);
  });

  /*
   * A big wave heals most races by itself (a wrongly waiting user is taken by the next joiner),
   * so these bursts leave no one to heal them: every user is compatible with exactly the users
   * of its own burst, and all of them must end up paired.
   */
  test('compatible users joining together are always paired: 150 same-country pairs, then bursts of any-country joiners', async () => {
    await owner.query('delete from app.pool_entries');
    const { rows } = await owner.query<{ code: string }>('select code from app.countries where code <> all($1) order by code limit 150', [
      COUNTRIES,
    ]);
    const pairCountries = rows.map((r) => r.code);
    const users = await insertUsers(
      owner,
      pairCountries.flatMap((c) => [c, c]),
    );
    const joiners: Joiner[] = await Promise.all(users.map(async (u) => ({ ...u, same: true, token: await signToken(u.id) })));
    const start = (await owner.query<{ now: Date }>('select now()')).rows[0]!.now;
    const outcomes = await joinAll(joiners);
    const rooms = await roomsSince(start);
    await checkRound(joiners, outcomes, rooms, () => false);
    assert.equal(rooms.length, pairCountries.length, `${pairCountries.length - rooms.length} pairs of the same country both wait`);
    for (const room of rooms) assert.equal(room.country_a, room.country_b);

    // any-country joiners: each burst is an even number of mutually compatible new users
    for (let burst = 0; burst < 25; burst++) {
      const group = await insertUsers(owner, pairCountries.slice((burst * 6) % 144, ((burst * 6) % 144) + 6));
      const anyJoiners: Joiner[] = await Promise.all(group.map(async (u) => ({ ...u, same: false, token: await signToken(u.id) })));
      const burstStart = (await owner.query<{ now: Date }>('select now()')).rows[0]!.now;
      const burstOutcomes = await joinAll(anyJoiners);
      const burstRooms = await roomsSince(burstStart);
      await checkRound(anyJoiners, burstOutcomes, burstRooms, () => false);
      assert.deepEqual([...(await waitingIds())], [], `burst ${burst}: compatible users left waiting`);
    }
  });
});
