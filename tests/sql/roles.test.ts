import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { GATEWAY_LOGIN_ROLE, gatewayDatabaseUrl } from '../../src/db/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_JWT_SECRET } from '../support/secret.js';

/**
 * The request path's connection, exactly as src/db/pool.ts opens it: the login role
 * chat_authenticator, switched to chat_gateway. Nothing said on it may gain more than EXECUTE on
 * api.*: not by changing role, not by resetting it.
 */
describe('the gateway connection cannot gain privileges', () => {
  let db: TestDatabase;
  let gateway: pg.Client;

  before(async () => {
    db = await createTestDatabase();
    const url = gatewayDatabaseUrl(db.url, undefined, new TextEncoder().encode(TEST_JWT_SECRET));
    gateway = new pg.Client({ connectionString: url, options: '-c role=chat_gateway' });
    await gateway.connect();
  });
  after(async () => {
    await gateway?.end();
    await db?.drop();
  });

  /** Runs `sql` and returns the SQLSTATE it failed with (undefined when it succeeded). */
  const failure = async (sql: string): Promise<string | undefined> => {
    try {
      await gateway.query(sql);
      return undefined;
    } catch (error) {
      return (error as pg.DatabaseError).code;
    }
  };
  const owner = () => new URL(db.url).username;

  test('it logs in as the login role and works as chat_gateway', async () => {
    const { rows } = await gateway.query('select session_user, current_user');
    assert.deepEqual(rows[0], { session_user: GATEWAY_LOGIN_ROLE, current_user: 'chat_gateway' });
    const { rows: counted } = await gateway.query('select api.unread_counts(gen_random_uuid()) as rooms');
    assert.deepEqual(counted[0].rooms, []);
  });

  test('SET ROLE to the owner and SET SESSION AUTHORIZATION are refused', async () => {
    assert.equal(await failure(`set role ${owner()}`), '42501');
    assert.equal(await failure(`set session authorization ${owner()}`), '42501');
    assert.equal(await failure('set role postgres'), '42501');
  });

  /** Everything beyond EXECUTE on api.* that an attacker on this connection would try. */
  const assertNothingMore = async () => {
    assert.equal(await failure('select password_hash from app.users'), '42501');
    assert.equal(await failure('select count(*) from app.messages'), '42501');
    assert.equal(await failure(`select internal.lock_key('x')`), '42501');
    assert.equal(await failure('create temp table stolen (x int)'), '42501');
    assert.equal(await failure('create table public.stolen (x int)'), '42501');
  };

  test('RESET ROLE goes back to chat_gateway, the role the connection started with', async () => {
    await gateway.query('reset role');
    const { rows } = await gateway.query('select current_user');
    assert.equal(rows[0].current_user, 'chat_gateway');
    await assertNothingMore();
  });

  test('SET ROLE NONE gives the login role, which may not even execute api.* (NOINHERIT)', async () => {
    await gateway.query('set role none');
    try {
      const { rows } = await gateway.query('select current_user');
      assert.equal(rows[0].current_user, GATEWAY_LOGIN_ROLE);
      assert.equal(await failure('select api.unread_counts(gen_random_uuid())'), '42501');
      await assertNothingMore();
    } finally {
      await gateway.query('set role chat_gateway');
    }
  });

  test('as chat_gateway: no tables, no internal functions, no temporary tables', async () => {
    await assertNothingMore();
  });
});
