import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { matchPair, registerUser, request, type TestSocket } from '../support/client.js';
import { connect, createTestDatabase } from '../support/database.js';
import { spawnServerProcess, startTestServer, type ServerProcess } from '../support/server.js';
import { closeAllSockets, isOpen, openRoom, ownerQuery, pollUntil, waitClose } from '../support/ws.js';

/**
 * SIGTERM in the right order: stop accepting, close sockets (1001), commit what was submitted,
 * let feeds and requests finish, close keep-alive connections, end the pool, exit — within
 * SHUTDOWN_TIMEOUT, or exit anyway once it has passed.
 */

after(() => closeAllSockets());

/** Everything a server process writes from now on, and its exit. */
function watch(server: ServerProcess) {
  let output = '';
  server.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

/** Error-level lines, in the gateway's own log format or as pino writes them. */
const errorLines = (output: string) => output.split('\n').filter((line) => / error: |"level":(50|60)\b/.test(line));

describe('SIGTERM under load', () => {
  test('every acked message is stored, every socket gets 1001, the process exits 0 within the deadline and logs no error', async () => {
    const db = await createTestDatabase();
    const server = await spawnServerProcess(db.url, { SHUTDOWN_TIMEOUT: '10s' });
    const proc = watch(server);
    try {
      const sockets: TestSocket[] = [];
      for (let i = 0; i < 6; i++) {
        const { a, b, roomId } = await matchPair(server.url);
        sockets.push(await openRoom(server.wsUrl, a, roomId), await openRoom(server.wsUrl, b, roomId));
      }
      // every socket sends about 12 messages a second (under the 20/s limit) until the server closes it
      let sent = 0;
      const sender = setInterval(() => {
        for (const socket of sockets) {
          if (isOpen(socket)) socket.send({ type: 'message', content: `m${sent}`, client_id: `c${sent++}` });
        }
      }, 80);
      try {
        const acks = () => sockets.flatMap((s) => s.frames.filter((f) => f.type === 'message_ack'));
        await pollUntil('messages acked under load', async () => acks().length >= 60, 20_000);

        // a burst in flight at the signal, on top of the steady sending
        for (const socket of sockets) socket.send({ type: 'message', content: `m${sent}`, client_id: `c${sent++}` });
        const signalled = Date.now();
        server.child.kill('SIGTERM');
        for (const socket of sockets) assert.equal(await waitClose(socket, 10_000), 1001);
        const code = await proc.exited;
        const took = Date.now() - signalled;

        assert.equal(code, 0, proc.output());
        assert.ok(took < 10_000, `exited after ${took} ms`);
        assert.deepEqual(errorLines(proc.output()), []);
        const acked = acks().map((f) => f.client_id as string);
        const stored = await ownerQuery(db.url, 'select client_id from app.messages where client_id = any($1)', [acked]);
        assert.equal(stored.length, acked.length, 'every acked message is in the table');
      } finally {
        clearInterval(sender);
      }
    } finally {
      await server.stop();
      await db.drop();
    }
  });

  test('sockets are closed at once, before a stuck commit and a stuck request finish; both finish before the exit', async () => {
    const db = await createTestDatabase();
    const server = await spawnServerProcess(db.url, { SHUTDOWN_TIMEOUT: '10s' });
    const proc = watch(server);
    const messagesLock = await connect(db.url);
    const poolLock = await connect(db.url);
    try {
      const { a, roomId } = await matchPair(server.url);
      const joiner = await registerUser(server.url);
      const socket = await openRoom(server.wsUrl, a, roomId);
      await messagesLock.query('begin');
      await messagesLock.query('lock table app.messages in share mode'); // the send's insert waits
      await poolLock.query('begin');
      await poolLock.query('lock table app.pool_entries in exclusive mode'); // so does the join
      socket.send({ type: 'message', content: 'stuck', client_id: 'stuck' });
      const join = request(server.url, 'POST', '/pool/join', { token: joiner.token });
      await pollUntil(
        'the send and the join waiting for the locks',
        async () => Number((await ownerQuery(db.url, 'select count(*) as n from pg_locks where not granted'))[0].n) >= 2,
      );

      server.child.kill('SIGTERM');
      // no socket waits for the commits: they are closed first, so nothing more arrives meanwhile
      assert.equal(await waitClose(socket, 5000), 1001);
      assert.equal(server.child.exitCode, null, 'the process waits for the stuck work');

      // the commit goes through: the frame received before the shutdown is stored
      await messagesLock.query('rollback');
      await pollUntil(
        'the stuck message committed',
        async () => (await ownerQuery(db.url, `select 1 from app.messages where client_id = 'stuck'`)).length === 1,
      );
      // the request still in flight is answered before the connections are closed
      await poolLock.query('rollback');
      assert.equal((await join).status, 202);

      assert.equal(await proc.exited, 0, proc.output());
      assert.deepEqual(errorLines(proc.output()), []);
    } finally {
      for (const client of [messagesLock, poolLock]) {
        await client.query('rollback').catch(() => {});
        await client.end();
      }
      await server.stop();
      await db.drop();
    }
  });

  test('a shutdown that cannot finish (a commit stuck behind a lock) exits anyway at SHUTDOWN_TIMEOUT', async () => {
    const db = await createTestDatabase();
    const server = await spawnServerProcess(db.url, { SHUTDOWN_TIMEOUT: '2s' });
    const proc = watch(server);
    const owner = await connect(db.url);
    try {
      const { a, roomId } = await matchPair(server.url);
      const socket = await openRoom(server.wsUrl, a, roomId);
      await owner.query('begin');
      await owner.query('lock table app.messages in share mode'); // the send's insert waits
      socket.send({ type: 'message', content: 'stuck', client_id: 'stuck' });
      await pollUntil(
        'the send waiting for the lock',
        async () => Number((await owner.query('select count(*) as n from pg_locks where not granted')).rows[0].n) > 0,
      );

      const signalled = Date.now();
      server.child.kill('SIGTERM');
      const code = await proc.exited;
      const took = Date.now() - signalled;
      assert.equal(code, 1);
      assert.ok(took >= 1900 && took < 8000, `exited after ${took} ms`);
      assert.match(proc.output(), /shutdown did not finish within 2000 ms \(SHUTDOWN_TIMEOUT\): exiting anyway/);
    } finally {
      await owner.query('rollback').catch(() => {});
      await owner.end();
      await server.stop();
      await db.drop();
    }
  });
});

describe('close() of the gateway', () => {
  test('does not wait for a request whose client left before sending its whole body', async () => {
    const server = await startTestServer();
    try {
      const client = net.connect(Number(new URL(server.url).port), '127.0.0.1');
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      client.write('POST /auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"em');
      // one answered request after it: the gateway has read the unfinished one before the client leaves
      assert.equal((await request(server.url, 'GET', '/health')).status, 200);
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.destroy();
      });

      const closing = server.app.close().then(() => 'closed' as const);
      const deadline = new Promise<'hanging'>((resolve) => setTimeout(() => resolve('hanging'), 5000).unref());
      assert.equal(await Promise.race([closing, deadline]), 'closed');
    } finally {
      await server.db.drop();
    }
  });

  test('closes keep-alive HTTP connections, so nothing holds the process or the port', async () => {
    const server = await startTestServer();
    const agent = new http.Agent({ keepAlive: true });
    try {
      let connection: Socket | undefined;
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${server.url}/health`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('socket', (socket) => (connection = socket));
        req.on('error', reject);
      });
      assert.ok(connection && !connection.destroyed, 'the connection is kept alive after the response');
      const closed = new Promise<void>((resolve) => connection!.once('close', () => resolve()));

      await server.app.close();
      const deadline = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 3000).unref());
      assert.notEqual(
        await Promise.race([closed.then(() => 'closed' as const), deadline]),
        'open',
        'the keep-alive connection was closed by the server',
      );
    } finally {
      agent.destroy();
      await server.db.drop();
    }
  });
});
