import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { registerUser, request, type TestSocket, type TestUser } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openNotifications } from '../support/ws.js';

/*
 * The pool's "closed tab" rule end to end: a waiting user whose last notification socket closes
 * stops being matched 30 seconds later unless a socket comes back; a user who never opened one
 * keeps the 15-minute rule. Presence reaches the database through the gateway's once-a-second
 * sync, so the tests poll the table with a deadline.
 */

let server: TestServer;
let owner: pg.Client;
const sockets: TestSocket[] = [];

before(async () => {
  server = await startTestServer();
  owner = new pg.Client({ connectionString: server.db.url });
  await owner.connect();
});
after(async () => {
  closeAllSockets();
  await owner.end();
  await server.close();
});

async function notifications(user: TestUser): Promise<TestSocket> {
  const socket = await openNotifications(server.wsUrl, user);
  sockets.push(socket);
  return socket;
}

/** The user's pool entry once `ready` holds for it, within 5 s. */
async function entryWhen(user: TestUser, ready: (row: { disconnected_at: Date | null } | undefined) => boolean) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { rows } = await owner.query('select disconnected_at from app.pool_entries where user_id = $1', [user.id]);
    if (ready(rows[0])) return rows[0];
    if (Date.now() > deadline) throw new Error(`pool entry never reached the expected state: ${JSON.stringify(rows[0])}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const join = (user: TestUser) => request(server.url, 'POST', '/pool/join', { token: user.token });

test('a closed tab stops waiting 30 s later; the partner-to-be is not matched with it', async () => {
  const waiter = await registerUser(server.url);
  const tab = await notifications(waiter);
  await tab.next('online_count');
  assert.equal((await join(waiter)).status, 202);

  tab.close();
  await entryWhen(waiter, (row) => row?.disconnected_at != null);
  // 30 seconds pass without a socket coming back
  await owner.query(`update app.pool_entries set disconnected_at = now() - interval '31 seconds' where user_id = $1`, [waiter.id]);

  const joiner = await registerUser(server.url, { country: 'NG' });
  assert.equal((await join(joiner)).status, 202, 'the closed tab is not matched');
  // and the user who closed the tab may join again
  assert.equal((await join(waiter)).status, 201);
});

test('a page reload keeps the place in the pool', async () => {
  const waiter = await registerUser(server.url);
  const first = await notifications(waiter);
  await first.next('online_count');
  assert.equal((await join(waiter)).status, 202);

  first.close();
  await entryWhen(waiter, (row) => row?.disconnected_at != null);
  const reloaded = await notifications(waiter);
  await entryWhen(waiter, (row) => row !== undefined && row.disconnected_at === null);

  const joiner = await registerUser(server.url, { country: 'NG' });
  const matched = await join(joiner);
  assert.equal(matched.status, 201);
  assert.deepEqual(await reloaded.next('matched'), { type: 'matched', room_id: matched.body.room_id });
});

test('a user who never opened a notification socket keeps the 15-minute rule', async () => {
  // two users wait without a socket, each for their own country
  const stale = await registerUser(server.url, { country: 'JP' });
  const fresh = await registerUser(server.url, { country: 'BR' });
  for (const waiter of [stale, fresh]) {
    assert.equal((await request(server.url, 'POST', '/pool/join', { token: waiter.token, body: { same_country: true } })).status, 202);
  }
  const { rows } = await owner.query(
    `select user_id, disconnected_at, expires_at - joined_at between interval '14 minutes 59 seconds' and interval '15 minutes' as fifteen_minutes
       from app.pool_entries where user_id = any($1) order by joined_at`,
    [[stale.id, fresh.id]],
  );
  assert.deepEqual(rows, [
    { user_id: stale.id, disconnected_at: null, fifteen_minutes: true },
    { user_id: fresh.id, disconnected_at: null, fifteen_minutes: true },
  ]);
  // presence reports come and go (once a second) and leave a socket-less entry alone: fresh has
  // waited 14 minutes 59 seconds, stale 15 minutes and a moment
  await owner.query(`update app.pool_entries set expires_at = now() + interval '1 second' where user_id = $1`, [fresh.id]);
  await owner.query(`update app.pool_entries set expires_at = now() - interval '1 millisecond' where user_id = $1`, [stale.id]);

  const forStale = await registerUser(server.url, { country: 'JP' });
  assert.equal((await join(forStale)).status, 202, 'an entry past its 15 minutes is not matched');
  const forFresh = await registerUser(server.url, { country: 'BR' });
  const matched = await join(forFresh);
  assert.equal(matched.status, 201, 'an entry within its 15 minutes is matched');
  assert.equal(matched.body.room.partner_country, 'BR');
  const {
    rows: [room],
  } = await owner.query('select user_a, user_b from app.rooms where id = $1', [matched.body.room_id]);
  assert.deepEqual(room, { user_a: fresh.id, user_b: forFresh.id });
  // the user whose entry ran out may join again (and is matched with the one waiting for JP)
  assert.equal((await join(stale)).status, 201);
});

test('online_count counts distinct users, and drops when one leaves', async () => {
  const [x, y] = [await registerUser(server.url), await registerUser(server.url)];
  const xTab = await notifications(x);
  await notifications(x); // a second tab of the same user counts once
  const yTab = await notifications(y);
  const before = (await yTab.next('online_count')).count as number;
  assert.ok(before >= 2);
  await xTab.next((f) => f.type === 'online_count' && f.count === before);
  for (const socket of sockets.filter((s) => s !== yTab)) socket.close();
  await yTab.next((f) => f.type === 'online_count' && f.count < before);
});
