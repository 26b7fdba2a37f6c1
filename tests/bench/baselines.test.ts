import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { type TestDatabase, withTestDatabase } from '../support/database.js';
import { EventListener, sqlUser } from '../support/sql.js';

/*
 * The bench's baseline send functions (bench/baselines/) stand in for api.post_events during a
 * scenario, so they must be interchangeable with it: the same results for the same events, and
 * the same messages.created envelopes (the listener checks each against the envelope schema).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FUNCTIONS = ['api.post_events', 'bench_v1.post_events', 'bench_naive.post_events'];

let db: TestDatabase;
let client: pg.Client;
withTestDatabase((d, c) => {
  db = d;
  client = c;
});

test('the baseline send functions answer and notify as api.post_events does', async () => {
  for (const file of ['post_events_v1.sql', 'post_message_naive.sql'])
    await client.query(readFileSync(path.join(root, 'bench', 'baselines', file), 'utf8'));
  const a = await sqlUser(client, 'FR');
  const b = await sqlUser(client, 'NG');
  const stranger = await sqlUser(client, 'US');
  await client.query('select api.join_pool($1)', [a.id]);
  const room = (await client.query('select api.join_pool($1) as r', [b.id])).rows[0].r.room.id as string;
  const listener = await EventListener.start(db.url);
  try {
    const shapes = new Map<string, string[]>();
    let seq = 0;
    for (const fn of FUNCTIONS) {
      const post = async (event: object) =>
        (await client.query(`select ${fn}($1) as results`, [JSON.stringify([{ i: 0, ...event }])])).rows[0].results as Record<
          string,
          unknown
        >[];
      const message = { kind: 'message', room, user: a.id, origin: 'gw:1', content: ` hello from ${fn} `, client_id: fn };
      const [first] = await post(message);
      seq++;
      assert.equal(first!.ok, true, `${fn}: ${JSON.stringify(first)}`);
      assert.equal(first!.seq, seq, `${fn} takes the room's next seq`);
      shapes.set(fn, Object.keys(first!).sort());
      const [again] = await post(message);
      assert.deepEqual(
        { ...again, sent_at: undefined },
        { ...first, sent_at: undefined },
        `${fn}: the same client_id is acknowledged again`,
      );
      assert.deepEqual(await post({ ...message, content: '   ', client_id: `${fn}.blank` }), [
        { i: 0, ok: false, code: 'invalid_content' },
      ]);
      assert.deepEqual(await post({ ...message, user: stranger.id, client_id: `${fn}.stranger` }), [
        { i: 0, ok: false, code: 'room_not_found' },
      ]);
      assert.deepEqual(await post({ kind: 'read', room, user: b.id, message_id: first!.id }), [{ i: 0, ok: true, moved: true }]);
      const [big] = await post({ ...message, content: '€'.repeat(4000), client_id: `${fn}.big` });
      seq++;
      assert.equal(big!.ok, true);
    }
    assert.deepEqual(shapes.get('bench_v1.post_events'), shapes.get('api.post_events'));
    assert.deepEqual(shapes.get('bench_naive.post_events'), shapes.get('api.post_events'));

    await listener.flush(client);
    assert.deepEqual(listener.violations, []);
    const created = listener.messages(room);
    assert.equal(created.length, 2 * FUNCTIONS.length, 'one envelope entry per stored message');
    const keys = (m: Record<string, unknown>) => Object.keys(m).sort().join(',');
    const byContent = (big: boolean) => created.filter((m) => (m.content_omitted === true) === big);
    for (const group of [byContent(false), byContent(true)]) {
      assert.equal(group.length, FUNCTIONS.length);
      assert.equal(new Set(group.map(keys)).size, 1, `same envelope fields: ${group.map(keys).join(' | ')}`);
    }
    const of = (fn: string) => created.find((m) => m.client_id === fn)!;
    assert.equal(of('bench_naive.post_events').content, 'hello from bench_naive.post_events', 'trimmed');
    // same history before each (one unread left by the previous function's big message): same badge
    assert.equal(of('bench_naive.post_events').unread_count, 2);
    assert.equal(of('bench_v1.post_events').unread_count, 2);
  } finally {
    await listener.stop();
  }
});
