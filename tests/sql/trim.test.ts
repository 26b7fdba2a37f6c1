import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { asGateway, withTestDatabase } from '../support/database.js';
import { asOwner, expectSqlError, sqlUser } from '../support/sql.js';

let client: pg.Client;
withTestDatabase((_db, c) => (client = c));

/** Every character JavaScript's trim() strips, which the contract's "after trimming" means. */
const UNICODE_SPACE =
  '\t\n\u000b\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

test('the SQL rule strips exactly what JavaScript trim() strips, at both ends only', () =>
  asGateway(client, () =>
    asOwner(client, async () => {
      const samples = [UNICODE_SPACE, `${UNICODE_SPACE}a b${UNICODE_SPACE}`, '\u00a0x\u00a0y\u3000', 'zero\u200bwidth\u200b', 'plain'];
      for (const sample of samples) {
        const { rows } = await client.query('select internal.trim_text($1) as trimmed', [sample]);
        assert.equal(rows[0].trimmed, sample.trim(), JSON.stringify(sample));
      }
    }),
  ));

async function room(): Promise<{ a: { id: string }; roomId: string; messageId: string }> {
  const a = await sqlUser(client);
  const b = await sqlUser(client, 'NG');
  await client.query('select api.join_pool($1)', [a.id]);
  const { rows } = await client.query('select api.join_pool($1) as result', [b.id]);
  const roomId = rows[0].result.room.id;
  const { rows: sent } = await client.query('select api.post_events($1) as results', [
    JSON.stringify([{ i: 0, kind: 'message', room: roomId, user: b.id, content: 'hello' }]),
  ]);
  return { a, roomId, messageId: sent[0].results[0].id };
}

for (const blank of ['\t\n', '\u00a0\u00a0', '\u3000', '\u2003\ufeff']) {
  test(`a name, an emoji or a message of only ${JSON.stringify(blank)} is refused`, () =>
    asGateway(client, async () => {
      const { a, roomId, messageId } = await room();
      await expectSqlError(client, 'select api.rename_room($1, $2, $3)', [a.id, roomId, blank], 'CVNAM');
      await expectSqlError(client, 'select api.react($1, $2, $3)', [a.id, messageId, blank], 'CVEMO');
      const { rows } = await client.query('select api.post_events($1) as results', [
        JSON.stringify([{ i: 0, kind: 'message', room: roomId, user: a.id, content: blank }]),
      ]);
      assert.deepEqual(rows[0].results, [{ i: 0, ok: false, code: 'invalid_content' }]);
    }));
}

test('what is stored is trimmed by the same rule', () =>
  asGateway(client, async () => {
    const { a, roomId, messageId } = await room();
    const { rows: renamed } = await client.query('select api.rename_room($1, $2, $3) as room', [a.id, roomId, '\u00a0Bob\u3000']);
    assert.equal(renamed[0].room.name, 'Bob');
    await client.query('select api.react($1, $2, $3)', [a.id, messageId, '\u2003❤️\n']);
    await client.query('select api.post_events($1)', [
      JSON.stringify([{ i: 0, kind: 'message', room: roomId, user: a.id, content: '\u00a0hi there\u2028' }]),
    ]);
    const { rows } = await client.query('select api.room_messages($1, $2) as page', [a.id, roomId]);
    const [first, second] = rows[0].page.messages;
    assert.deepEqual(
      first.reactions.map((r: { emoji: string }) => r.emoji),
      ['❤️'],
    );
    assert.equal(second.content, 'hi there');
  }));
