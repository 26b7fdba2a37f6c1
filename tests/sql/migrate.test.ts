import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { withTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let client: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  client = c;
});

/*
 * A start-up on a database whose functions match their files leaves them alone: re-creating them
 * under running gateways makes their calls fail while they compile ("cache lookup failed").
 */
test('a start-up with unchanged function files does not re-create the functions', async () => {
  const oid = async () => (await client.query(`select 'api.join_pool(uuid, boolean, interval)'::regprocedure::oid as oid`)).rows[0].oid;
  const before = await oid();
  await migrate(db.url);
  assert.equal(await oid(), before, 'api.join_pool was dropped and created again');

  // a changed file (here: as if the digest were of other files) re-creates them
  await client.query(`comment on schema api is 'functions of another version'`);
  await migrate(db.url);
  assert.notEqual(await oid(), before);
});
