import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { asGateway, withTestDatabase } from '../support/database.js';
import { asOwner, expectSqlError, PASSWORD_HASH, sqlUser } from '../support/sql.js';

let client: pg.Client;
withTestDatabase((_db, c) => {
  client = c;
});

const REGISTER = 'select api.register($1, $2, $3, $4) as user';
const register = (pseudo: string, email: string, country = 'FR') => client.query(REGISTER, [pseudo, email, country, PASSWORD_HASH]);

describe('api.register', () => {
  test('trims, lower-cases the email, upper-cases the country, returns the user without the hash', () =>
    asGateway(client, async () => {
      const { rows } = await register('  Some.One-1 ', ' Some.One@Example.COM ', 'fr');
      const user = rows[0].user;
      assert.equal(user.pseudo, 'Some.One-1');
      assert.equal(user.email, 'some.one@example.com');
      assert.equal(user.country, 'FR');
      assert.deepEqual(Object.keys(user).sort(), ['country', 'created_at', 'email', 'id', 'pseudo']);
      assert.match(user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const stored = await asOwner(client, () => client.query('select password_hash from app.users where id = $1', [user.id]));
      assert.equal(stored.rows[0].password_hash, PASSWORD_HASH);
    }));

  test('CUDUP for a pseudo or email taken in any case', () =>
    asGateway(client, async () => {
      await register('Alice_1', 'alice1@example.com');
      await expectSqlError(client, REGISTER, ['aLICE_1', 'other1@example.com', 'FR', PASSWORD_HASH], 'CUDUP');
      await expectSqlError(client, REGISTER, [' ALICE_1 ', 'other2@example.com', 'FR', PASSWORD_HASH], 'CUDUP');
      await expectSqlError(client, REGISTER, ['bob_1', 'ALICE1@EXAMPLE.com', 'FR', PASSWORD_HASH], 'CUDUP');
      const error = await expectSqlError(client, REGISTER, ['alice_1', 'alice1@example.com', 'DE', PASSWORD_HASH], 'CUDUP');
      assert.equal(error.message, 'pseudo or email already taken');
      // a distinct pseudo and email still register
      await register('alice_2', 'alice2@example.com');
    }));

  test('CVINV for a country that is not an assigned ISO 3166-1 alpha-2 code', () =>
    asGateway(client, async () => {
      for (const country of ['ZZ', 'XX', 'FRA', 'F', '', 'uk']) {
        const error = await expectSqlError(client, REGISTER, ['carol_1', 'carol1@example.com', country, PASSWORD_HASH], 'CVINV');
        assert.equal(error.column, 'country', country);
      }
      // any case in, upper case stored
      const { rows } = await register('carol_1', 'carol1@example.com', 'gB');
      assert.equal(rows[0].user.country, 'GB');
    }));

  test('CVINV for data the table refuses (pseudo with @, bad email, hash that is not argon2id)', () =>
    asGateway(client, async () => {
      await expectSqlError(client, REGISTER, ['da@ve', 'dave@example.com', 'FR', PASSWORD_HASH], 'CVINV');
      await expectSqlError(client, REGISTER, ['d', 'dave@example.com', 'FR', PASSWORD_HASH], 'CVINV');
      await expectSqlError(client, REGISTER, ['dave', 'not an email', 'FR', PASSWORD_HASH], 'CVINV');
      await expectSqlError(client, REGISTER, ['dave', 'dave@example.com', 'FR', 'plain-text-password'], 'CVINV');
    }));
});

describe('login: api.login_begin / login_succeeded', () => {
  const BEGIN = 'select user_json, password_hash from api.login_begin($1, $2)';
  // an attempt the gateway never confirms with login_succeeded is a failure
  const failed = (identifier: string, clientAddress = '10.0.0.1') => client.query(BEGIN, [identifier, clientAddress]);
  const succeeded = (identifier: string, clientAddress = '10.0.0.1') =>
    client.query('select api.login_succeeded($1, $2)', [identifier, clientAddress]);

  test('finds the user by email or pseudo, case-insensitively and trimmed; no row for unknown users', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      for (const identifier of [user.email.toUpperCase(), user.pseudo.toUpperCase(), ` ${user.pseudo} `, ` ${user.email} `]) {
        const { rows } = await client.query(BEGIN, [identifier, '10.0.0.1']);
        assert.equal(rows.length, 1, identifier);
        assert.equal(rows[0].user_json.id, user.id);
        assert.equal(rows[0].password_hash, PASSWORD_HASH);
      }
      for (const identifier of ['nobody', 'nobody@example.com', user.pseudo + 'x', `${user.pseudo}@example.org`]) {
        const { rows } = await client.query(BEGIN, [identifier, '10.0.0.1']);
        assert.equal(rows.length, 0, identifier);
      }
    }));

  /** The backoff row of an account tried from an address, as the owner sees it. */
  const backoff = (user: { id: string }, address: string) =>
    asOwner(client, () =>
      client.query(
        `select attempts, ceil(extract(epoch from blocked_until - now()))::integer as blocked_for
       from app.rate_limits where key = $1`,
        [`user:${user.id} from ${address}`],
      ),
    ).then((r) => r.rows[0]);
  const endBlock = (user: { id: string }, address: string) =>
    asOwner(client, () =>
      client.query(`update app.rate_limits set blocked_until = now() - interval '1 second' where key = $1`, [
        `user:${user.id} from ${address}`,
      ]),
    );

  test('5 failures from one address block the account from there (CALIM, detail = retry-after seconds), by email and pseudo alike', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      for (let i = 0; i < 4; i++) await failed(i % 2 ? user.email : user.pseudo.toUpperCase(), '10.0.0.1');
      // four failures: the fifth attempt is still allowed, and blocks for a minute if it fails
      assert.equal((await client.query(BEGIN, [user.pseudo, '10.0.0.1'])).rows.length, 1);
      for (const identifier of [user.pseudo, user.email.toUpperCase()]) {
        const error = await expectSqlError(client, BEGIN, [identifier, '10.0.0.1'], 'CALIM');
        assert.equal(error.detail, '60');
      }
      // an attempt refused while blocked is not counted
      assert.deepEqual(await backoff(user, '10.0.0.1'), { attempts: 5, blocked_for: 60 });
      // the owner at another address is not locked out, nor is another account from this address
      assert.equal((await client.query(BEGIN, [user.pseudo, '10.0.0.2'])).rows.length, 1);
      const other = await sqlUser(client);
      assert.equal((await client.query(BEGIN, [other.pseudo, '10.0.0.1'])).rows.length, 1);
    }));

  test('each attempt after the block doubles it, up to an hour', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      for (let i = 0; i < 5; i++) await failed(user.pseudo, '10.0.0.3');
      const blocks: number[] = [];
      for (let i = 0; i < 8; i++) {
        await endBlock(user, '10.0.0.3');
        await failed(user.pseudo, '10.0.0.3');
        blocks.push((await backoff(user, '10.0.0.3')).blocked_for);
      }
      assert.deepEqual(blocks, [120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }));

  test('a count is forgotten a day after its last block ended', () =>
    asGateway(client, async () => {
      const user = await sqlUser(client);
      for (let i = 0; i < 5; i++) await failed(user.pseudo, '10.0.0.4');
      await asOwner(client, () =>
        client.query(`update app.rate_limits set blocked_until = now() - interval '1 day 1 second' where key = $1`, [
          `user:${user.id} from 10.0.0.4`,
        ]),
      );
      await failed(user.pseudo, '10.0.0.4');
      assert.deepEqual(await backoff(user, '10.0.0.4'), { attempts: 1, blocked_for: null });
    }));

  test('unknown identifiers are limited too, and a success clears the account budget of its address', () =>
    asGateway(client, async () => {
      for (let i = 0; i < 5; i++) await failed('Ghost', '10.0.0.5');
      await expectSqlError(client, BEGIN, ['ghost', '10.0.0.5'], 'CALIM');

      const user = await sqlUser(client);
      for (let i = 0; i < 3; i++) await failed(user.email, '10.0.0.5');
      await failed(user.pseudo, '10.0.0.5');
      await succeeded(user.pseudo.toUpperCase(), '10.0.0.5');
      for (let i = 0; i < 4; i++) await failed(user.email, '10.0.0.5');
      assert.equal((await client.query(BEGIN, [user.email, '10.0.0.5'])).rows.length, 1);
      await expectSqlError(client, BEGIN, [user.email, '10.0.0.5'], 'CALIM');
    }));

  test('one client address is blocked after 50 failures across many identifiers', () =>
    asGateway(client, async () => {
      for (let i = 0; i < 49; i++) await failed(`someone${i}`, '192.0.2.7');
      const user = await sqlUser(client);
      // a success from the address gives its attempt back
      await failed(user.pseudo, '192.0.2.7');
      await succeeded(user.pseudo, '192.0.2.7');
      await failed('someone-else', '192.0.2.7');
      const error = await expectSqlError(client, BEGIN, [user.pseudo, '192.0.2.7'], 'CALIM');
      assert.equal(error.detail, '900');
      // the same account from another address is fine
      assert.equal((await client.query(BEGIN, [user.pseudo, '192.0.2.8'])).rows.length, 1);
    }));
});

describe('registration: api.count_registration', () => {
  const COUNT = 'select api.count_registration($1, $2)';

  test('counts per client address in an hourly window; CALIM past the limit', () =>
    asGateway(client, async () => {
      for (let i = 0; i < 3; i++) await client.query(COUNT, ['198.51.100.1', 3]);
      const error = await expectSqlError(client, COUNT, ['198.51.100.1', 3], 'CALIM');
      assert.equal(error.message, 'too many registrations from this address, try again later');
      assert.equal(error.detail, '3600');
      // another address has its own budget
      await client.query(COUNT, ['198.51.100.2', 3]);
      await asOwner(client, () =>
        client.query(`update app.rate_limits set window_start = now() - interval '1 hour 1 second' where key = 'register:198.51.100.1'`),
      );
      await client.query(COUNT, ['198.51.100.1', 3]);
    }));
});

describe('the gateway role', () => {
  test('cannot read or write the tables', async () => {
    for (const sql of [
      'select * from app.users',
      'select count(*) from app.rooms',
      'select * from app.messages',
      `insert into app.rate_limits values ('x', 1, now())`,
      'delete from app.pool_entries',
    ]) {
      await asGateway(client, async () => {
        await assert.rejects(client.query(sql), (error: pg.DatabaseError) => {
          assert.equal(error.code, '42501', sql);
          assert.match(error.message, /permission denied/);
          return true;
        });
      });
    }
  });

  test('cannot call internal.* functions', async () => {
    for (const sql of [
      `select internal.iso_time(now())`,
      `select internal.login_key('someone')`,
      `select internal.lock_key('pool:any')`,
      `select internal.notify('room.closed', gen_random_uuid(), array[]::uuid[])`,
    ]) {
      await asGateway(client, async () => {
        await assert.rejects(client.query(sql), (error: pg.DatabaseError) => {
          assert.equal(error.code, '42501', sql);
          return true;
        });
      });
    }
  });

  test('may call api.* functions', () =>
    asGateway(client, async () => {
      const { rows } = await client.query('select current_user as role, api.my_rooms(gen_random_uuid()) as rooms');
      assert.deepEqual(rows[0], { role: 'chat_gateway', rooms: [] });
    }));
});
