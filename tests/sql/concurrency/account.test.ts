import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { blockedOnLock, closeAll, gatewayClients, waitUntil } from '../../support/concurrency.js';
import { withTestDatabase, type TestDatabase } from '../../support/database.js';
import { sqlUser } from '../../support/sql.js';

/*
 * A join racing the deletion of the joiner's own account, on separate connections: the join waits
 * for the pool locks the deletion holds, then must see the account gone (CUNFD, a 401 for the
 * gateway) rather than fail on a foreign key to a user that no longer exists (a 500).
 */
let db: TestDatabase;
let owner: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  owner = c;
});

test('a join waiting for a deletion of its own account ends in CUNFD, not a foreign-key error', async () => {
  const clients = await gatewayClients(db.url, 2);
  const [deleter, joiner] = clients as [pg.Client, pg.Client];
  try {
    for (const sameCountry of [false, true]) {
      const user = await sqlUser(owner, 'FR');
      await deleter.query('begin');
      await deleter.query('select api.delete_account($1)', [user.id]);
      const join = joiner.query('select api.join_pool($1, $2)', [user.id, sameCountry]).then(
        () => undefined,
        (error: pg.DatabaseError) => error,
      );
      await waitUntil(() => blockedOnLock(owner, joiner), 'the join waiting for the pool locks');
      await deleter.query('commit');
      const error = await join;
      assert.equal(error?.code, 'CUNFD', `same_country ${sameCountry}: ${error?.code} ${error?.message}`);
    }
  } finally {
    await closeAll(clients);
  }
});
