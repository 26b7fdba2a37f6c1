import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { registerUser, request, type TestUser } from '../support/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServerProcess, type ServerProcess } from '../support/server.js';
import { closeAllSockets, handshake, openNotifications, openRoom, openTracked, roomUrl, sendMessage, waitFrame } from '../support/ws.js';

/**
 * The log of a real server process through a whole scenario, access logs on and at the most
 * verbose level: JSON lines only, each request and connection with its id, and not one of the
 * tokens or passwords the scenario used.
 */
let db: TestDatabase;
let server: ServerProcess;
before(async () => {
  db = await createTestDatabase();
  server = await spawnServerProcess(db.url, { LOG_LEVEL: 'debug', LOG_REQUESTS: '1' });
});
after(async () => {
  closeAllSockets();
  await server?.stop();
  await db?.drop();
});

const secret = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

test('a full scenario logs every request and connection, and no token or password', async () => {
  const secrets: string[] = [];
  const user = async (): Promise<TestUser> => {
    const password = secret('password');
    const registered = await registerUser(server.url, { password });
    secrets.push(password, registered.token);
    const login = await request(server.url, 'POST', '/auth/login', { body: { identifier: registered.pseudo, password } });
    assert.equal(login.status, 200);
    secrets.push(login.body.token);
    return { ...registered, token: login.body.token };
  };
  const a = await user();
  const b = await user();

  const wrongPassword = secret('wrong');
  secrets.push(wrongPassword);
  assert.equal((await request(server.url, 'POST', '/auth/login', { body: { identifier: a.email, password: wrongPassword } })).status, 401);
  const forged = `${a.token.slice(0, -4)}AAAA`;
  secrets.push(forged);
  assert.equal((await request(server.url, 'GET', '/rooms/me', { token: forged })).status, 401);
  assert.equal((await handshake(`${server.wsUrl}/ws/notifications?token=${forged}`)).status, 401);

  // both ways of carrying a token on a socket: ?token= and the bearer.<jwt> sub-protocol
  const notifyA = await openNotifications(server.wsUrl, a);
  await openTracked(`${server.wsUrl}/ws/notifications`, 'notifications', [`bearer.${b.token}`]);
  assert.equal((await request(server.url, 'POST', '/pool/join', { token: a.token })).status, 202);
  const joined = await request(server.url, 'POST', '/pool/join', { token: b.token, headers: { 'x-request-id': 'proxy-req-42' } });
  assert.equal(joined.status, 201);
  const roomId = joined.body.room_id as string;
  const roomA = await openRoom(server.wsUrl, a, roomId);
  const roomB = await openTracked(roomUrl(server.wsUrl, roomId), 'room', [`bearer.${b.token}`]);
  await sendMessage(roomA, 'hello', 'm1');
  await waitFrame(roomB, 'message');
  assert.equal((await request(server.url, 'DELETE', `/rooms/${roomId}`, { token: b.token })).status, 200);
  await waitFrame(notifyA, 'room_closed');
  await server.stop();

  const output = server.output();
  const lines = output
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return assert.fail(`not a JSON line: ${line}`);
      }
    });
  for (const value of secrets) {
    assert.ok(!output.includes(value), `the log contains a secret: ${value.slice(0, 12)}…`);
    // a JWT's signature alone is the part that must never leak
    if (value.split('.').length === 3) assert.ok(!output.includes(value.split('.')[2]!), 'the log contains a token signature');
  }

  const requests = lines.filter((l) => typeof l.req === 'string' && typeof l.status === 'number');
  const find = (method: string, url: string, status: number) =>
    requests.filter((l) => l.method === method && l.url === url && l.status === status);
  assert.equal(find('POST', '/auth/register', 201).length, 2);
  assert.equal(find('POST', '/auth/login', 200).length, 2);
  assert.equal(find('POST', '/auth/login', 401).length, 1);
  assert.equal(find('GET', '/rooms/me', 401).length, 1);
  assert.deepEqual(
    find('POST', '/pool/join', 201).map((l) => l.req),
    ['proxy-req-42'],
    "the proxy's request id is kept",
  );
  assert.equal(new Set(requests.map((l) => l.req)).size, requests.length, 'one id per request');
  const upgrades = lines.filter((l) => typeof l.conn === 'string' && typeof l.status === 'number');
  assert.deepEqual(upgrades.map((l) => l.status).sort(), [101, 101, 101, 101, 401]);
  assert.ok(upgrades.every((l) => l.url === '/ws/notifications' || l.url === `/ws/${roomId}`));
  // each accepted socket's close is logged under its connection id: room sockets when the room
  // closed (1000), notification sockets at shutdown (1001)
  const closes = lines.filter((l) => typeof l.conn === 'string' && typeof l.code === 'number');
  assert.deepEqual(
    closes.map((l) => l.conn).sort(),
    upgrades
      .filter((l) => l.status === 101)
      .map((l) => l.conn)
      .sort(),
  );
  assert.ok(lines.some((l) => l.level === 30 && /^listening on/.test(String(l.msg))));
});

test('secret fields and texts are redacted wherever they sit in a log line', async () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA';
  const password = secret('password');
  const script = `
    import { log } from './dist/src/log.js';
    log.info('login', { password: ${JSON.stringify(password)}, body: { password: ${JSON.stringify(password)} } });
    log.info('headers', { headers: { authorization: 'Bearer ${token}' } });
    log.warn('upgrade /ws/notifications?token=${token} refused', new Error('bad token ${token}'));
    log.error('failed', new Error('GET /ws/x?after_seq=1&token=${token}'));
    log.child({ token: '${token}' }).info('bearer ${token}');
    log.info('GET /ws/room?after_seq=3&token=opaque-query-secret, Authorization: Bearer opaque-bearer-secret');
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const lines = stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 6);
  assert.ok(!stdout.includes(password), 'a password field');
  assert.ok(!stdout.includes('c2lnbmF0dXJlLXNlY3JldA'), 'a token in a field, header, message or error');
  // tokens that are not JWT-shaped: by where they sit
  assert.ok(!stdout.includes('opaque-query-secret'), 'a token= query parameter');
  assert.ok(!stdout.includes('opaque-bearer-secret'), 'a bearer credential');
  assert.equal(lines.filter((l) => l.includes('[redacted]')).length, 6);
  // the warning is one line with the reason, no stack
  const warning = JSON.parse(lines[2]!);
  assert.equal(warning.level, 40);
  assert.equal(warning.reason, 'bad token [redacted]');
  assert.equal(warning.err, undefined);
  assert.match(JSON.parse(lines[3]!).err.stack, /^Error: GET \/ws\/x\?after_seq=1&token=\[redacted\]/);
});
