import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { registerUser, request } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, openNotifications, openRoom, pollUntil, sendMessage, waitFrame, waitFrames } from '../support/ws.js';

/**
 * /metrics after a scenario: the counters moved by exactly what the scenario did. The registry
 * belongs to the process, and this file's server is the only one in it, so a difference of two
 * scrapes is what the scenario caused.
 */
type Samples = Map<string, number>;

async function scrape(url: string): Promise<Samples> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** `name{label="value",…}` with the labels in the order prom-client writes them. */
function sample(name: string, labels: Record<string, string> = {}): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return text ? `${name}{${text}}` : name;
}

function moved(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): number {
  const key = sample(name, labels);
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

describe('/metrics on the public port', () => {
  let server: TestServer;
  withTestServer((s) => (server = s));
  after(closeAllSockets);

  test('a scenario moves every counter by what it did', async () => {
    const before = await scrape(server.url);

    // pool: one waits (and is seen waiting), one is refused for joining twice, one matches
    const { a, b, roomId } = await (async () => {
      const first = await registerUser(server.url);
      const second = await registerUser(server.url);
      assert.equal((await request(server.url, 'POST', '/pool/join', { token: first.token })).status, 202);
      const waiting = await scrape(server.url);
      assert.equal(waiting.get('chat_pool_waiting_users'), 1);
      assert.equal((await request(server.url, 'POST', '/pool/join', { token: first.token })).status, 409);
      const joined = await request(server.url, 'POST', '/pool/join', { token: second.token });
      assert.equal(joined.status, 201);
      return { a: first, b: second, roomId: joined.body.room_id as string };
    })();

    const notifyA = await openNotifications(server.wsUrl, a);
    const notifyB = await openNotifications(server.wsUrl, b);
    const roomA = await openRoom(server.wsUrl, a, roomId);
    const roomB = await openRoom(server.wsUrl, b, roomId);
    const during = await scrape(server.url);
    assert.equal(during.get(sample('chat_ws_open_sockets', { socket: 'room' })), 2);
    assert.equal(during.get(sample('chat_ws_open_sockets', { socket: 'notifications' })), 2);
    assert.equal(during.get('chat_pool_waiting_users'), 0);

    for (let i = 1; i <= 3; i++) await sendMessage(roomA, `hello ${i}`, `m${i}`);
    await waitFrames(roomB, 'message', 3);
    await waitFrame(notifyB, (f) => f.type === 'new_message' && f.unread_count === 3);
    roomB.send({ type: 'message', content: '', client_id: 'empty' }); // refused before the database
    await waitFrame(roomB, (f) => f.type === 'error' && f.client_id === 'empty');
    assert.equal((await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: a.token })).status, 200);
    await waitFrame(notifyA, 'room_closed');
    assert.equal((await request(server.url, 'GET', '/nowhere')).status, 404);

    const end = await scrape(server.url);
    const delta = (name: string, labels?: Record<string, string>) => moved(before, end, name, labels);
    assert.equal(delta('chat_http_requests_total', { method: 'POST', route: '/auth/register', status: '201' }), 2);
    assert.equal(delta('chat_http_requests_total', { method: 'POST', route: '/pool/join', status: '202' }), 1);
    assert.equal(delta('chat_http_requests_total', { method: 'POST', route: '/pool/join', status: '409' }), 1);
    assert.equal(delta('chat_http_requests_total', { method: 'POST', route: '/pool/join', status: '201' }), 1);
    assert.equal(delta('chat_http_requests_total', { method: 'DELETE', route: '/rooms/:room_id', status: '200' }), 1);
    assert.equal(delta('chat_http_requests_total', { method: 'GET', route: '(unmatched)', status: '404' }), 1);
    assert.equal(delta('chat_http_request_duration_seconds_count', { method: 'POST', route: '/auth/register', status: '201' }), 2);
    assert.ok(delta('chat_http_request_duration_seconds_sum', { method: 'POST', route: '/auth/register', status: '201' }) > 0);

    assert.equal(delta('chat_pool_joins_total', { result: 'waiting' }), 1);
    assert.equal(delta('chat_pool_joins_total', { result: 'matched' }), 1);
    assert.equal(delta('chat_pool_joins_total', { result: 'already_in_pool' }), 1);
    assert.equal(delta('chat_rooms_total', { event: 'opened' }), 1);
    assert.equal(delta('chat_rooms_total', { event: 'closed' }), 1);

    assert.equal(delta('chat_ws_handshakes_total', { socket: 'room', status: '101' }), 2);
    assert.equal(delta('chat_ws_handshakes_total', { socket: 'notifications', status: '101' }), 2);
    assert.equal(delta('chat_ws_frames_received_total', { socket: 'room', type: 'message' }), 3);
    // the empty one, and each helper's join probe (a read of no message)
    assert.equal(delta('chat_ws_frames_received_total', { socket: 'room', type: 'invalid' }), 3);
    assert.equal(delta('chat_ws_frames_sent_total', { type: 'message_ack' }), 3);
    assert.equal(delta('chat_ws_frames_sent_total', { type: 'message' }), 3);
    assert.equal(delta('chat_ws_frames_sent_total', { type: 'new_message' }), 3);
    assert.equal(delta('chat_ws_errors_total', { code: 'invalid_content' }), 1);

    // the three messages went through the batcher (the empty one never reached it)
    assert.equal(delta('chat_send_events_total', { kind: 'message', result: 'ok' }), 3);
    assert.equal(delta('chat_send_batch_size_sum'), 3);
    assert.ok(delta('chat_send_batch_size_count') >= 1);
    assert.equal(delta('chat_send_batch_commit_seconds_count'), delta('chat_send_batch_size_count'));
    assert.equal(delta('chat_notification_lag_seconds_count'), 3);
    assert.ok(delta('chat_listener_events_total', { type: 'messages.created' }) >= 1);
    assert.equal(delta('chat_listener_events_total', { type: 'room.closed' }), 1);

    for (const socket of [roomA, roomB, notifyA, notifyB]) socket.close();
    // what lives in the database or the pool, and the process itself
    for (const name of [
      'chat_notify_queue_usage_ratio',
      sample('chat_db_pool_connections', { state: 'in_use' }),
      'chat_db_pool_waiting_queries',
      'nodejs_eventloop_lag_seconds',
      'process_cpu_user_seconds_total',
      'chat_listener_reconnects_total',
    ]) {
      assert.ok(Number.isFinite(end.get(name)), `${name} is exported`);
    }
    assert.ok(end.get(sample('chat_db_pool_connections', { state: 'idle' }))! >= 1);
  });
});

describe('/metrics when a room expires', () => {
  let server: TestServer;
  withTestServer((s) => (server = s), { roomTtlMs: 1500 });
  after(closeAllSockets);

  test('the expiry is counted once, by the process whose job expired it', async () => {
    const before = await scrape(server.url);
    const a = await registerUser(server.url);
    const b = await registerUser(server.url);
    const notifyA = await openNotifications(server.wsUrl, a);
    assert.equal((await request(server.url, 'POST', '/pool/join', { token: a.token })).status, 202);
    assert.equal((await request(server.url, 'POST', '/pool/join', { token: b.token })).status, 201);
    await waitFrame(notifyA, (f) => f.type === 'room_closed' && f.reason === 'expired', 10_000);
    // the job counts once its query has answered, which may come after the event reached the socket
    let end = before;
    await pollUntil('the expiry counted', async () => {
      end = await scrape(server.url);
      return moved(before, end, 'chat_rooms_total', { event: 'expired' }) > 0;
    });
    assert.equal(moved(before, end, 'chat_rooms_total', { event: 'opened' }), 1);
    assert.equal(moved(before, end, 'chat_rooms_total', { event: 'expired' }), 1);
    assert.equal(moved(before, end, 'chat_rooms_total', { event: 'closed' }), 0);
  });
});

describe('/metrics on METRICS_PORT', () => {
  let server: TestServer;
  withTestServer((s) => (server = s), { metricsPort: 0 });

  test('is served there and only there', async () => {
    const metricsPort = server.app.metricsPort;
    assert.notEqual(metricsPort, server.app.port);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    assert.ok((await scrape(metricsUrl)).has('process_cpu_user_seconds_total'));
    const publicAnswer = await request(server.url, 'GET', '/metrics');
    assert.equal(publicAnswer.status, 404);
    assert.equal(publicAnswer.body.code, 'route_not_found');
    assert.equal(
      (await request(metricsUrl, 'GET', '/health', { contract: false })) /* the metrics port, not the API */.status,
      404,
      'the metrics port serves nothing else',
    );
    assert.equal((await request(server.url, 'GET', '/health')).status, 200);
    // a request to the public port shows up on the metrics port
    assert.equal((await scrape(metricsUrl)).get(sample('chat_http_requests_total', { method: 'GET', route: '/health', status: '200' })), 1);
  });
});
