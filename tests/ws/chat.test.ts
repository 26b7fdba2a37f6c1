import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { matchPair, registerUser, request } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  closeAllSockets,
  handshake,
  isOpen,
  openNotifications,
  openRoom,
  openTracked,
  roomUrl,
  sendMessage,
  sendPaced,
  waitFrame,
  waitFrames,
} from '../support/ws.js';

/**
 * The room and notification sockets of two matched users, through real WebSocket clients:
 * every frame of the contract (docs/api.md, WebSockets), who gets it and who does not.
 */

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  closeAllSockets();
  await server.close();
});

const messages = async (token: string, roomId: string) =>
  (await request(server.url, 'GET', `/rooms/${roomId}/messages`, { token })).body as any[];

describe('two users chatting', () => {
  test('messages, acks, notifications, typing and reads between two members', async () => {
    const { a, b, roomId } = await matchPair(server.url);

    // on connect: unread badges and the online count
    const notifyA = await openNotifications(server.wsUrl, a);
    const unreadA = await waitFrame(notifyA, 'unread');
    assert.deepEqual(unreadA.rooms, [{ room_id: roomId, unread_count: 0 }]);
    // the file's first sockets on a server of its own: a alone, then both
    assert.deepEqual(await waitFrame(notifyA, 'online_count'), { type: 'online_count', count: 1 });
    const notifyB = await openNotifications(server.wsUrl, b);
    await waitFrame(notifyB, 'unread');
    assert.deepEqual(await waitFrame(notifyB, 'online_count'), { type: 'online_count', count: 2 });
    // and a hears of b with the next once-a-second count
    await waitFrame(notifyA, (f) => f.type === 'online_count' && f.count === 2);
    assert.deepEqual(
      notifyA.all('online_count').map((f) => f.count),
      [1, 2],
    );

    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);

    // message → ack to the sender once committed; message to the partner under an alias
    roomA.send({ type: 'message', content: '  hello  ', client_id: 'c1' });
    const ack = await roomA.next('message_ack');
    assert.equal(ack.seq, 1);
    assert.equal(ack.client_id, 'c1');
    assert.match(ack.id, /^[0-9a-f-]{36}$/);
    assert.match(ack.sent_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const storedForA = await messages(a.token, roomId);
    assert.deepEqual(
      storedForA.map((m) => [m.id, m.seq, m.content, m.sender_id, m.client_id]),
      [[ack.id, 1, 'hello', a.id, 'c1']],
    );

    const received = await waitFrame(roomB, 'message');
    const storedForB = await messages(b.token, roomId);
    const aliasOfA = storedForB[0].sender_id;
    assert.notEqual(aliasOfA, a.id);
    assert.deepEqual(received, { type: 'message', id: ack.id, seq: 1, content: 'hello', sender_id: aliasOfA, sent_at: ack.sent_at });
    assert.ok(!JSON.stringify(received).includes(a.id) && !JSON.stringify(received).includes(a.pseudo));

    const badge = await waitFrame(notifyB, 'new_message');
    assert.deepEqual(badge, { type: 'new_message', room_id: roomId, id: aliasOfA, message_id: ack.id, unread_count: 1 });

    const ack2 = await sendMessage(roomA, 'second', 'c2');
    const ack3 = await sendMessage(roomA, 'third', 'c3');
    assert.deepEqual([ack2.seq, ack3.seq], [2, 3]);
    const badges = await waitFrames(notifyB, 'new_message', 3);
    assert.deepEqual(
      badges.map((f) => [f.message_id, f.unread_count]),
      [
        [ack.id, 1],
        [ack2.id, 2],
        [ack3.id, 3],
      ],
    );
    await waitFrames(roomB, 'message', 3);

    // typing reaches the partner only: once B has it, a later frame of B's reaches A, and A
    // never got its own typing back
    roomA.send({ type: 'typing' });
    assert.deepEqual(await waitFrame(roomB, 'typing'), { type: 'typing' });
    const fromB = await sendMessage(roomB, 'hi A', 'b1');
    await waitFrame(roomA, (f) => f.type === 'message' && f.id === fromB.id);
    assert.equal(roomA.all('typing').length, 0);

    // read: the partner hears of it, the reader's badges are recounted
    roomB.send({ type: 'read', id: ack2.id });
    const read = await waitFrame(roomA, 'read');
    assert.equal(read.id, ack2.id);
    assert.match(read.read_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const recount = await waitFrame(notifyB, (f) => f.type === 'unread' && f.rooms[0]?.unread_count === 1);
    assert.deepEqual(recount.rooms, [{ room_id: roomId, unread_count: 1 }]);

    // the same mark again, or an earlier one, moves nothing and sends nothing: the next read
    // frame A gets is the one of the mark that moved afterwards
    roomB.send({ type: 'read', id: ack2.id });
    roomB.send({ type: 'read', id: ack.id });
    roomB.send({ type: 'read', id: ack3.id });
    await waitFrames(roomA, 'read', 2);
    assert.deepEqual(
      roomA.all('read').map((f) => f.id),
      [ack2.id, ack3.id],
    );
    await waitFrames(notifyB, 'unread', 3); // on connect, then one per move
    assert.deepEqual(
      notifyB.all('unread').map((f) => f.rooms[0].unread_count),
      [0, 1, 0],
    );
    assert.equal(roomB.all('read').length, 0, 'the reader never gets its own read frames');

    // A's side: the badge of B's message, no frame about its own messages
    const badgeA = await waitFrame(notifyA, 'new_message');
    assert.equal(badgeA.message_id, fromB.id);
    assert.notEqual(badgeA.id, b.id);
    assert.equal(roomA.all('message').length, 1);
    assert.equal(roomA.all('own_message').length, 0);
    assert.ok(isOpen(roomA) && isOpen(roomB) && isOpen(notifyA) && isOpen(notifyB));
  });

  test('a second tab of the sender gets own_message; the sending socket only its ack', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const tab1 = await openRoom(server.wsUrl, a, roomId);
    const tab2 = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);

    const ack = await sendMessage(tab1, 'from tab 1', 'tab1-1');
    const own = await waitFrame(tab2, 'own_message');
    assert.deepEqual(own, {
      type: 'own_message',
      id: ack.id,
      seq: ack.seq,
      content: 'from tab 1',
      sender_id: a.id,
      sent_at: ack.sent_at,
      client_id: 'tab1-1',
    });
    const partner = await waitFrame(roomB, 'message');
    assert.equal(partner.id, ack.id);
    assert.equal(partner.client_id, undefined, 'the partner never sees the client_id');

    // barrier: B's reply reaches both tabs after anything about A's message would have
    const reply = await sendMessage(roomB, 'reply', 'b-1');
    for (const tab of [tab1, tab2]) await waitFrame(tab, (f) => f.type === 'message' && f.id === reply.id);
    assert.equal(tab1.all('own_message').length, 0);
    assert.equal(tab1.all('message_ack').length, 1);
    assert.equal(tab2.all('message_ack').length, 0);
  });

  test('the same client_id twice is stored once and acknowledged twice with the same id and seq', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);

    // twice back to back (usually one send batch), then once more after the first acks
    roomA.send({ type: 'message', content: 'once', client_id: 'retry-1' });
    roomA.send({ type: 'message', content: 'once', client_id: 'retry-1' });
    const [first, second] = await waitFrames(roomA, 'message_ack', 2);
    const third = await sendMessage(roomA, 'once (a retry after a lost ack)', 'retry-1');
    assert.equal(roomA.all('message_ack').length, 3);
    for (const ack of [second!, third]) {
      assert.deepEqual([ack.id, ack.seq, ack.client_id, ack.sent_at], [first!.id, first!.seq, 'retry-1', first!.sent_at]);
    }

    const next = await sendMessage(roomA, 'next', 'retry-2');
    assert.equal(next.seq, first!.seq + 1, 'a retry takes no seq');
    await waitFrame(roomB, (f) => f.type === 'message' && f.id === next.id);
    assert.deepEqual(
      roomB.all('message').map((f) => f.seq),
      [1, 2],
    );
    const stored = await messages(a.token, roomId);
    assert.deepEqual(
      stored.map((m) => [m.content, m.client_id]),
      [
        ['once', 'retry-1'],
        ['next', 'retry-2'],
      ],
    );
  });

  test('acks come back in send order (50 messages, batched)', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);

    const ids = Array.from({ length: 50 }, (_, i) => `fifo-${i}`);
    await sendPaced(roomA, 50, (i) => ({ content: `message ${i}`, client_id: ids[i]! }));
    const acks = await waitFrames(roomA, 'message_ack', 50, 10_000);
    assert.deepEqual(roomA.all('error'), []);
    assert.deepEqual(
      acks.map((f) => f.client_id),
      ids,
    );
    assert.deepEqual(
      acks.map((f) => f.seq),
      ids.map((_, i) => i + 1),
    );
    const delivered = await waitFrames(roomB, 'message', 50);
    assert.deepEqual(
      delivered.map((f) => f.id),
      acks.map((f) => f.id),
    );
  });

  test('both members sending 25 messages each at the same time: each delivered once, seqs 1..50', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const tab1 = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    // B sends too, so both sides' messages interleave in the same batches
    const frames = (prefix: string) => (i: number) => ({ content: `${prefix} ${i}`, client_id: `${prefix}-${i}` });
    await Promise.all([sendPaced(tab1, 25, frames('a')), sendPaced(roomB, 25, frames('b'))]);
    const acksA = await waitFrames(tab1, 'message_ack', 25, 10_000);
    const acksB = await waitFrames(roomB, 'message_ack', 25, 10_000);
    const seenByB = await waitFrames(roomB, 'message', 25);
    const seenByA = await waitFrames(tab1, 'message', 25);
    assert.deepEqual(
      seenByB.map((f) => f.id),
      acksA.map((f) => f.id),
    );
    assert.deepEqual(
      seenByA.map((f) => f.id),
      acksB.map((f) => f.id),
    );
    const all = [...acksA, ...acksB].map((f) => f.seq).sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });
});

describe('bad frames get an error frame and the socket stays open', () => {
  test('invalid JSON, unknown type, bad content, bad client_id, bad or unknown read id', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const fromB = await sendMessage(roomB, 'something to read', 'b-1');
    const own = await sendMessage(roomA, 'my own', 'a-0');

    const cases: Array<[string, unknown, string]> = [
      ['not JSON', '{"type": "message", ', 'invalid_json'],
      ['a JSON string', '"message"', 'unknown_type'],
      ['unknown type', { type: 'shout', content: 'hey' }, 'unknown_type'],
      ['no type', { content: 'hey' }, 'unknown_type'],
      ['empty content', { type: 'message', content: '' }, 'invalid_content'],
      ['blank content', { type: 'message', content: ' \n\t ' }, 'invalid_content'],
      ['content not a string', { type: 'message', content: 42 }, 'invalid_content'],
      ['content of 4001 characters', { type: 'message', content: 'x'.repeat(4001) }, 'invalid_content'],
      ['client_id of 65 characters', { type: 'message', content: 'hi', client_id: 'c'.repeat(65) }, 'invalid_client_id'],
      ['empty client_id', { type: 'message', content: 'hi', client_id: '' }, 'invalid_client_id'],
      ['read without id', { type: 'read' }, 'invalid_id'],
      ['read with a malformed id', { type: 'read', id: 'not-a-uuid' }, 'invalid_id'],
      ['read of an unknown message', { type: 'read', id: '00000000-0000-4000-8000-000000000000' }, 'message_not_found'],
      ["read of one's own message", { type: 'read', id: own.id }, 'message_not_found'],
      ['read with a urn:uuid id', { type: 'read', id: `urn:uuid:${own.id}` }, 'invalid_id'],
      ['content with a NUL character', '{"type":"message","content":"a\\u0000b"}', 'invalid_content'],
      ['content with an unpaired surrogate', '{"type":"message","content":"a\\ud800b"}', 'invalid_content'],
      ['client_id with a NUL character', '{"type":"message","content":"hi","client_id":"a\\u0000"}', 'invalid_client_id'],
      ['client_id null', { type: 'message', content: 'hi', client_id: null }, 'invalid_client_id'],
    ];
    for (const [name, frame, code] of cases) {
      const before = roomA.all('error').length;
      roomA.send(frame);
      const errors = await waitFrames(roomA, 'error', before + 1);
      const error = errors[before]!;
      assert.equal(error.code, code, name);
      assert.equal(typeof error.message, 'string', name);
      assert.ok(isOpen(roomA), `${name}: the socket stays open`);
    }
    // an error frame carries the client_id of the frame it answers
    roomA.send({ type: 'message', content: '', client_id: 'bad-1' });
    assert.equal((await waitFrame(roomA, (f) => f.type === 'error' && f.client_id === 'bad-1')).code, 'invalid_content');

    // the edges that are valid: 4000 characters (also when each one is two UTF-16 units)
    const long = await sendMessage(roomA, 'x'.repeat(4000), 'long');
    const emoji = await sendMessage(roomA, '😀'.repeat(4000), 'emoji');
    const maxId = await sendMessage(roomA, 'max client id', 'm'.repeat(64));
    const forB = await waitFrames(roomB, 'message', 4);
    assert.deepEqual(
      forB.map((f) => f.id),
      [own.id, long.id, emoji.id, maxId.id],
    );
    assert.equal(forB[2]!.content, '😀'.repeat(4000));
    // a content too large for NOTIFY is read back from the table, and still not echoed to its
    // sender, nor is the message sent right after it
    roomA.send({ type: 'message', content: '😀'.repeat(3000), client_id: 'emoji-2' });
    roomA.send({ type: 'message', content: 'right after', client_id: 'after-emoji' });
    const after = await waitFrame(roomA, (f) => f.type === 'message_ack' && f.client_id === 'after-emoji');
    await waitFrame(roomB, (f) => f.type === 'message' && f.id === after.id);
    assert.deepEqual(
      roomA.all('own_message').map((f) => f.seq),
      [],
    );

    // and the read that was refused before works once it names a partner message
    roomA.send({ type: 'read', id: fromB.id.toUpperCase() });
    assert.equal((await waitFrame(roomB, 'read')).id, fromB.id);
    assert.equal(roomB.all('error').length, 0);
  });

  test('answers keep the order of the frames: an error found at once never overtakes earlier acks', async () => {
    const { a, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    for (let i = 0; i < 5; i++) {
      roomA.send({ type: 'message', content: `one ${i}` });
      roomA.send({ type: 'message', content: '' });
      roomA.send({ type: 'message', content: `three ${i}` });
    }
    const answers = await waitFrames(roomA, (f) => f.type === 'message_ack' || f.type === 'error', 15);
    assert.deepEqual(
      answers.map((f) => f.type),
      Array.from({ length: 5 }, () => ['message_ack', 'error', 'message_ack']).flat(),
    );
    assert.deepEqual(
      answers.filter((f) => f.type === 'message_ack').map((f) => f.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test("a bad frame fails alone: the other sockets' messages of the same batch are stored", async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const other = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const roomC = await openRoom(server.wsUrl, other.a, other.roomId);
    roomC.send('{"type":"message","content":"bad \\u0000 one","client_id":"bad"}');
    roomA.send({ type: 'message', content: 'good one', client_id: 'good' });
    roomC.send({ type: 'read', id: 'urn:uuid:00000000-0000-4000-8000-000000000000', client_id: 'bad-read' });
    roomB.send({ type: 'message', content: 'good two', client_id: 'good-2' });
    assert.equal((await waitFrame(roomA, (f) => f.client_id === 'good')).type, 'message_ack');
    assert.equal((await waitFrame(roomB, (f) => f.client_id === 'good-2')).type, 'message_ack');
    assert.equal((await waitFrame(roomC, (f) => f.client_id === 'bad')).code, 'invalid_content');
    assert.equal((await waitFrame(roomC, (f) => f.client_id === 'bad-read')).code, 'invalid_id');
  });

  test('more than 20 messages per second: rate_limited errors, every other message acked, socket open', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    for (const id of ids) roomA.send({ type: 'message', content: `burst ${id}`, client_id: id });

    const answered = (f: any) => (f.type === 'message_ack' || f.type === 'error') && ids.includes(f.client_id);
    const answers = await waitFrames(roomA, answered, 30);
    const limited = answers.filter((f) => f.type === 'error');
    const acked = answers.filter((f) => f.type === 'message_ack');
    // all 30 arrive within a few milliseconds: the burst of 20 passes, the bucket has refilled
    // no whole token by the 21st, so the last 10 are refused
    assert.deepEqual(
      acked.map((f) => f.client_id),
      ids.slice(0, 20),
      'the first 20 pass',
    );
    assert.deepEqual(
      limited.map((f) => f.client_id),
      ids.slice(20),
      'the last 10 are rate limited',
    );
    for (const f of limited) {
      assert.deepEqual(f, { type: 'error', code: 'rate_limited', message: 'at most 20 messages per second', client_id: f.client_id });
    }
    assert.equal(new Set(answers.map((f) => f.client_id)).size, 30, 'every message is answered exactly once');
    assert.deepEqual(
      acked.map((f) => f.seq),
      acked.map((_, i) => i + 1),
    );
    assert.ok(isOpen(roomA));

    const delivered = await waitFrames(roomB, 'message', acked.length);
    assert.deepEqual(
      delivered.map((f) => f.id),
      acked.map((f) => f.id),
    );
    const stored = await messages(a.token, roomId);
    assert.deepEqual(
      stored.map((m) => m.client_id),
      acked.map((f) => f.client_id),
    );

    // the socket still works (typing is not a message, read is not rate limited)
    roomA.send({ type: 'typing' });
    await waitFrame(roomB, 'typing');
  });
});

describe('handshake refusals are plain HTTP answers before the upgrade', () => {
  test('401 without or with a bad token; 404 for non-members, unknown and malformed rooms', async () => {
    const { a, roomId } = await matchPair(server.url);
    const stranger = await registerUser(server.url);

    const missing = await handshake(roomUrl(server.wsUrl, roomId));
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.body, { error: 'missing authorization', code: 'missing_authorization' });
    for (const token of ['not-a-jwt', `${a.token.slice(0, -4)}AAAA`]) {
      const bad = await handshake(roomUrl(server.wsUrl, roomId, token));
      assert.equal(bad.status, 401);
      assert.deepEqual(bad.body, { error: 'invalid or expired token', code: 'invalid_token' });
    }
    assert.equal((await handshake(`${server.wsUrl}/ws/notifications`)).status, 401);
    assert.equal((await handshake(`${server.wsUrl}/ws/notifications?token=nope`)).status, 401);
    assert.equal((await handshake(`${server.wsUrl}/ws/notifications`, { protocols: ['bearer.nope'] })).status, 401);

    const notFound = { error: 'room not found or access denied', code: 'room_not_found' };
    for (const [name, url] of [
      ['non-member', roomUrl(server.wsUrl, roomId, stranger.token)],
      ['unknown room', roomUrl(server.wsUrl, '6a3f1c52-0d7e-4b8e-9d0c-5a1e2f3b4c5d', a.token)],
      ['malformed room id', roomUrl(server.wsUrl, 'not-a-room', a.token)],
      ['malformed room id (sql-ish)', roomUrl(server.wsUrl, "1'%20or%20'1'='1", a.token)],
    ] as const) {
      const refused = await handshake(url);
      assert.equal(refused.status, 404, name);
      assert.deepEqual(refused.body, notFound, name);
    }

    const badResume = await handshake(`${roomUrl(server.wsUrl, roomId, a.token)}&after_seq=-1`);
    assert.equal(badResume.status, 400);
  });

  test('410 for a closed room', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    assert.equal((await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: b.token })).status, 200);
    for (const user of [a, b]) {
      const refused = await handshake(roomUrl(server.wsUrl, roomId, user.token));
      assert.equal(refused.status, 410);
      assert.deepEqual(refused.body, { error: 'room is no longer active', code: 'room_closed' });
    }
  });

  test('the token as a bearer.<jwt> sub-protocol works and the sub-protocol is echoed back', async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const protocol = `bearer.${a.token}`;
    const roomA = await openTracked(roomUrl(server.wsUrl, roomId), 'room', [protocol]);
    assert.equal(roomA.ws.protocol, protocol);
    const withOthers = await handshake(roomUrl(server.wsUrl, roomId), { protocols: ['chat.v1', protocol] });
    assert.deepEqual(withOthers, { status: 101, protocol });
    const notifyB = await openTracked(`${server.wsUrl}/ws/notifications`, 'notifications', [`bearer.${b.token}`]);
    assert.equal(notifyB.ws.protocol, `bearer.${b.token}`);
    await waitFrame(notifyB, 'unread');

    const ack = await sendMessage(roomA, 'over a sub-protocol socket', 'sp-1');
    assert.equal((await waitFrame(notifyB, 'new_message')).message_id, ack.id);
  });

  test('403 for an Origin outside CORS_ORIGINS', async () => {
    const strict = await startTestServer({ corsOrigins: ['https://allowed.example'] });
    try {
      const { a, roomId } = await matchPair(strict.url);
      const room = roomUrl(strict.wsUrl, roomId, a.token);
      const notifications = `${strict.wsUrl}/ws/notifications?token=${a.token}`;
      for (const url of [room, notifications]) {
        const refused = await handshake(url, { origin: 'https://evil.example' });
        assert.equal(refused.status, 403);
        assert.equal(refused.body.code, 'forbidden_origin');
        assert.equal((await handshake(url, { origin: 'https://allowed.example' })).status, 101);
        assert.equal((await handshake(url)).status, 101, 'no Origin (not a browser) is allowed');
        // the web client the server serves itself is same-origin, whatever the list says
        assert.equal((await handshake(url, { origin: strict.url })).status, 101, 'same-origin page');
        assert.equal((await handshake(url, { origin: strict.url.replace('127.0.0.1', 'localhost') })).status, 403, 'another host');
      }
      // the origin check comes first: a bad origin with a bad token is still a 403
      assert.equal((await handshake(roomUrl(strict.wsUrl, roomId, 'bad'), { origin: 'https://evil.example' })).status, 403);
    } finally {
      await strict.close();
    }
  });
});

describe('reactions', () => {
  test("both members' room sockets get reaction frames, with own id or alias", async () => {
    const { a, b, roomId } = await matchPair(server.url);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const ack = await sendMessage(roomA, 'react to me', 'r-1');

    const saved = await request(server.url, 'POST', `/messages/${ack.id}/reactions`, { token: b.token, body: { emoji: '❤️' } });
    assert.equal(saved.status, 200);
    const [stored] = await messages(a.token, roomId);
    const aliasOfB = stored.reactions[0].user_id;
    assert.notEqual(aliasOfB, b.id);

    assert.deepEqual(await waitFrame(roomB, 'reaction'), {
      type: 'reaction',
      message_id: ack.id,
      user_id: b.id,
      emoji: '❤️',
      action: 'add',
    });
    assert.deepEqual(await waitFrame(roomA, 'reaction'), {
      type: 'reaction',
      message_id: ack.id,
      user_id: aliasOfB,
      emoji: '❤️',
      action: 'add',
    });

    // replacing it is another add; removing it says remove, without emoji
    await request(server.url, 'POST', `/messages/${ack.id}/reactions`, { token: b.token, body: { emoji: '👍' } });
    assert.equal((await request(server.url, 'DELETE', `/messages/${ack.id}/reactions`, { token: b.token })).status, 200);
    const forA = await waitFrames(roomA, 'reaction', 3);
    const forB = await waitFrames(roomB, 'reaction', 3);
    assert.deepEqual(forA.slice(1), [
      { type: 'reaction', message_id: ack.id, user_id: aliasOfB, emoji: '👍', action: 'add' },
      { type: 'reaction', message_id: ack.id, user_id: aliasOfB, action: 'remove' },
    ]);
    assert.deepEqual(forB.slice(1), [
      { type: 'reaction', message_id: ack.id, user_id: b.id, emoji: '👍', action: 'add' },
      { type: 'reaction', message_id: ack.id, user_id: b.id, action: 'remove' },
    ]);

    // the author reacting to their own message: own id for them, their alias for the partner
    await request(server.url, 'POST', `/messages/${ack.id}/reactions`, { token: a.token, body: { emoji: '🎉' } });
    const ownA = (await waitFrames(roomA, 'reaction', 4))[3]!;
    const ownB = (await waitFrames(roomB, 'reaction', 4))[3]!;
    assert.equal(ownA.user_id, a.id);
    assert.equal(ownB.user_id, (await messages(b.token, roomId))[0].sender_id);
    assert.notEqual(ownB.user_id, a.id);
  });
});
