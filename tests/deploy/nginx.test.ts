import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { matchPair, request, uniqueName } from '../support/client.js';
import { freePort } from '../support/ports.js';
import { withTestServer, type TestServer } from '../support/server.js';
import {
  closeAllSockets,
  openNotifications,
  openRoom,
  openTracked,
  roomUrl,
  sendMessage,
  seqsOf,
  waitFrame,
  waitFrames,
} from '../support/ws.js';

/**
 * deploy/nginx.conf, as it is in the repository, in front of a gateway with TRUST_PROXY=1: an
 * nginx of the machine runs it in a folder of its own (its own prefix, pid, logs and temp paths,
 * free ports, one process in the foreground) and is stopped after. Only the two lines that name
 * ports are rewritten. One client connects from 127.0.0.2 while nginx reaches the gateway from
 * 127.0.0.1, so the client address the gateway counts shows which one it believed.
 */
const NGINX = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']
  .map((dir) => path.join(dir, 'nginx'))
  .find((file) => existsSync(file));
const CLIENT_ADDRESS = '127.0.0.2';

describe('behind nginx (deploy/nginx.conf)', {
  skip: NGINX ? false : 'no nginx binary: install it with `apt-get install -y nginx` (.ci/run does)',
}, () => {
  let server: TestServer;
  let owner: pg.Client;
  let nginx: ChildProcess;
  let prefix: string;
  let base: string;
  let wsBase: string;
  let port: number;
  withTestServer(
    (s, o) => {
      server = s;
      owner = o;
    },
    { trustProxy: 1 },
  );

  before(async () => {
    prefix = await mkdtemp(path.join(os.tmpdir(), 'nginx-test-'));
    port = await freePort();
    const site = await readFile(new URL('../../../deploy/nginx.conf', import.meta.url), 'utf8');
    const rewritten = replaceOnce(
      replaceOnce(site, /^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${port};`),
      /^(\s*)server 127\.0\.0\.1:8080;$/m,
      `$1server 127.0.0.1:${server.app.port};`,
    );
    await writeFile(path.join(prefix, 'chat.conf'), rewritten);
    await writeFile(
      path.join(prefix, 'nginx.conf'),
      `
      daemon off;
      master_process off;
      pid ${prefix}/nginx.pid;
      error_log ${prefix}/error.log warn;
      events { worker_connections 256; }
      http {
        access_log ${prefix}/access.log;
        client_body_temp_path ${prefix}/body;
        proxy_temp_path ${prefix}/proxy;
        fastcgi_temp_path ${prefix}/fastcgi;
        uwsgi_temp_path ${prefix}/uwsgi;
        scgi_temp_path ${prefix}/scgi;
        include ${prefix}/chat.conf;
      }
    `,
    );
    nginx = spawn(NGINX!, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    nginx.stdout!.on('data', (chunk) => (output += chunk));
    nginx.stderr!.on('data', (chunk) => (output += chunk));
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;
    // ready once it answers through to the gateway
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}: ${output}`);
      const status = await fetch(`${base}/health`).then(
        (res) => res.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`nginx did not answer within 10 s (last status ${status}): ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  after(async () => {
    closeAllSockets();
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGQUIT'); // graceful: nginx's own "stop after the open connections"
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    }
    if (prefix) await rm(prefix, { recursive: true, force: true });
  });

  test('HTTP: the API answers through nginx, JSON errors included; /metrics is not exposed', async () => {
    const health = await request(base, 'GET', '/health');
    assert.deepEqual([health.status, health.body], [200, { status: 'ok' }]);
    const refused = await request(base, 'POST', '/auth/login', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    assert.equal(refused.status, 400);
    assert.equal(typeof refused.body.code, 'string');
    // a body above the gateway's 64 KiB limit is the gateway's 413, in the API's shape
    const large = await request(base, 'POST', '/auth/register', { body: { pseudo: 'x'.repeat(70_000) } });
    assert.deepEqual([large.status, large.body.code], [413, 'payload_too_large']);
    // nginx's own 404 page (not the API's answer: no contract check)
    assert.equal((await request(base, 'GET', '/metrics', { contract: false })).status, 404);
  });

  test('an HTTP/1.0 client is answered: nginx speaks HTTP/1.1 to the gateway (proxy_http_version)', async () => {
    const answer = await rawRequest(port, 'GET /health HTTP/1.0\r\nHost: chat.example.com\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\r\n\r\n\{"status":"ok"\}$/);
  });

  test('what uWebSockets.js leaves unanswered is answered by nginx, within the 5 s rawRequest allows (the bare gateway: 8-12 s)', async () => {
    const health = 'GET /health HTTP/1.1\r\nHost: chat.example.com\r\n';
    const ok = /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"status":"ok"\}$/;
    const malformed = /^HTTP\/1\.1 400 [\s\S]*\r\n\r\n\{"error":"malformed request","code":"bad_request"\}$/;
    // two requests pipelined in one write: both answered, in order
    const pipelined = await rawRequest(port, `${health}\r\n${health}Connection: close\r\n\r\n`);
    assert.equal(pipelined.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    // malformed: nginx's own 400, in the API's error shape
    assert.match(await rawRequest(port, `${health}X A: v\r\nConnection: close\r\n\r\n`), malformed);
    assert.match(await rawRequest(port, 'GET health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), malformed);
    // a control byte: refused in a header the gateway reads, dropped with a header it does not
    assert.match(await rawRequest(port, `${health}Authorization: Bearer a\x01b\r\nConnection: close\r\n\r\n`), malformed);
    assert.match(await rawRequest(port, `${health}X-A: a\x01b\r\nConnection: close\r\n\r\n`), ok);
    // 60 extra header lines, and bare LF line ends
    const many = Array.from({ length: 60 }, (_, i) => `X-Extra-${i}: ${i}\r\n`).join('');
    assert.match(await rawRequest(port, `${health}${many}Connection: close\r\n\r\n`), ok);
    assert.match(await rawRequest(port, 'GET /health HTTP/1.1\nHost: chat.example.com\nConnection: close\n\n'), ok);
  });

  test('the client address is the one nginx saw, whatever the client wrote in X-Forwarded-For (TRUST_PROXY=1)', async () => {
    await owner.query('delete from app.rate_limits');
    const body = JSON.stringify({ identifier: uniqueName(), password: 'wrong password' });
    const answer = await rawRequest(
      port,
      `POST /auth/login HTTP/1.1\r\nHost: chat.example.com\r\nConnection: close\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n${body}`,
    );
    assert.match(answer, /^HTTP\/1\.1 401 /);
    const { rows } = await owner.query<{ key: string }>(`select key from app.rate_limits where key like 'client:%'`);
    assert.deepEqual(
      rows.map((r) => r.key),
      [`client:${CLIENT_ADDRESS}`],
    );
  });

  test('both WebSockets upgrade through nginx; a room socket resumes with after_seq', async () => {
    const { a, b, roomId } = await matchPair(base);
    const notifyB = await openNotifications(wsBase, b);
    const roomA = await openRoom(wsBase, a, roomId);
    // the token as a sub-protocol: nginx passes Sec-WebSocket-Protocol both ways
    const roomB = await openTracked(roomUrl(wsBase, roomId), 'room', [`bearer.${b.token}`]);
    assert.equal(roomB.ws.protocol, `bearer.${b.token}`);

    await sendMessage(roomA, 'one', 'm1');
    await waitFrame(roomB, 'message');
    await waitFrame(notifyB, (f) => f.type === 'new_message' && f.unread_count === 1);
    roomB.close();
    await roomB.waitClosed();

    // B is away while A sends two more, then comes back after seq 1
    await sendMessage(roomA, 'two', 'm2');
    await sendMessage(roomA, 'three', 'm3');
    const resumed = await openRoom(wsBase, b, roomId, 1);
    await waitFrames(resumed, 'message', 2);
    assert.deepEqual(seqsOf(resumed), [2, 3]);
    await sendMessage(roomA, 'four', 'm4');
    await waitFrames(resumed, 'message', 3);
    assert.deepEqual(seqsOf(resumed), [2, 3, 4]);
  });
});

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  assert.equal(text.match(new RegExp(pattern.source, 'gm'))?.length, 1, `deploy/nginx.conf has exactly one line matching ${pattern}`);
  return text.replace(pattern, replacement);
}

/**
 * One request written as given, from CLIENT_ADDRESS to nginx on 127.0.0.1; resolves with the
 * whole answer once nginx closes the connection.
 */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: CLIENT_ADDRESS }, () => socket.write(text));
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer within 5 s: ${JSON.stringify(answer)}`)));
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}
