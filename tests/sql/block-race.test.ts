import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { connect, withTestDatabase } from '../support/database.js';
import { sqlUser } from '../support/sql.js';

let client: pg.Client;
let url: string;
withTestDatabase((d, c) => {
  url = d.url;
  client = c;
});

const ROUNDS = 150;

/*
 * A block racing a join of the blocked partner, on separate connections, committed: whichever
 * wins, no open room between the two is left. Either the block committed first (the join sees it
 * and waits) or the join did (the block then closes the new room with reason "blocked").
 */
test(`a block racing a join never leaves the pair in an open room (${ROUNDS} rounds)`, async (t) => {
  const joiner = await connect(url);
  const blocker = await connect(url);
  try {
    for (const c of [joiner, blocker]) await c.query('set role chat_gateway');
    const outcomes = { joinFirst: 0, blockFirst: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const a = await sqlUser(client, 'FR');
      const b = await sqlUser(client, round % 2 ? 'FR' : 'NG');
      // an earlier, closed room of the two: what a blocks
      await client.query('select api.join_pool($1)', [a.id]);
      const first = (await client.query('select api.join_pool($1) as r', [b.id])).rows[0].r.room.id;
      await client.query('select api.close_room($1, $2)', [a.id, first]);
      await client.query('select api.join_pool($1)', [a.id]); // a waits again

      const [joined] = await Promise.all([
        joiner.query('select api.join_pool($1) as r', [b.id]),
        blocker.query('select api.block_room($1, $2)', [a.id, first]),
      ]);
      const { rows: open } = await client.query(
        `select id from app.rooms where closed_at is null
           and ((user_a = $1 and user_b = $2) or (user_a = $2 and user_b = $1))`,
        [a.id, b.id],
      );
      assert.deepEqual(open, [], `round ${round}: the blocked pair shares an open room`);
      if (joined.rows[0].r.matched) {
        outcomes.joinFirst++;
        const { rows } = await client.query('select closed_reason from app.rooms where id = $1', [joined.rows[0].r.room.id]);
        assert.equal(rows[0].closed_reason, 'blocked');
      } else {
        outcomes.blockFirst++;
      }
      await client.query('delete from app.pool_entries where user_id = any($1)', [[a.id, b.id]]);
    }
    t.diagnostic(`join first: ${outcomes.joinFirst}, block first: ${outcomes.blockFirst}`);
  } finally {
    await joiner.end();
    await blocker.end();
  }
});
