import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { matchPair, registerUser, request } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { closeAllSockets, roomUrl } from '../support/ws.js';

/*
 * HTTP and WebSocket abuse over raw TCP. Some of it is fixed in the gateway (OPTIONS, HEAD,
 * handshake checks, frames over 64 KiB); the rest is how uWebSockets.js 20.30 itself behaves,
 * cannot be changed from JavaScript, and is shielded by the reverse proxy (docs/deploy.md, "What
 * the reverse proxy must shield"). Those tests pin today's behaviour — no answer, the connection
 * closed by the server, the server alive — so that a change (a uWS upgrade) is noticed and the
 * shield revisited.
 */

let server: TestServer;
withTestServer((s) => {
  server = s;
});
after(closeAllSockets);

interface RawOutcome {
  answer: string;
  closedAfterMs: number;
}

/** Writes `payload` in one write and collects everything until the server closes (or `timeoutMs`). */
function raw(payload: string | Buffer, timeoutMs: number): Promise<RawOutcome> {
  const port = Number(new URL(server.url).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${timeoutMs} ms; answer so far: ${JSON.stringify(answer.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
  });
}

/** One request on a fresh connection; resolves once a whole response (headers, body by Content-Length) is in. */
function exchange(payload: string): Promise<{ head: string; body: string; socket: net.Socket }> {
  const port = Number(new URL(server.url).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(payload));
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no whole answer: ${JSON.stringify(text)}`)), 5000);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = text.slice(0, end);
      const length = payload.startsWith('HEAD') ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ head, body: text.slice(end + 4), socket });
    });
    socket.on('error', reject);
  });
}

const statusOf = (head: string) => Number(head.split(' ')[1]);

async function assertAlive(): Promise<void> {
  assert.equal((await request(server.url, 'GET', '/health')).status, 200, 'the server still answers');
}

const get = (lines: string[], eol = '\r\n') => ['GET /health HTTP/1.1', 'Host: x', ...lines].join(eol) + eol + eol;

describe('malformed HTTP (uWS 20.30 cannot answer them: shielded by the proxy)', () => {
  const MALFORMED: Record<string, string> = {
    'a control byte in a header value': get(['X-A: a\x01b']),
    '49 header lines': get(Array.from({ length: 48 }, (_, i) => `X-${i}: v`)),
    'a header name with a space': get(['X A: v']),
    'a header name with a tab': get(['X\tA: v']),
    'a target without a leading slash': 'GET health HTTP/1.1\r\nHost: x\r\n\r\n',
    'the target *': 'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
    'LF-only line ends': get([], '\n'),
    'HTTP/1.0 (GET /health)': 'GET /health HTTP/1.0\r\nHost: x\r\n\r\n',
  };

  test('no answer; the connection is held, then closed by the server within 20 s; the server lives', async () => {
    // all at once: uWS closes idle HTTP connections after ~10 s (a 4 s timer tick: 8-12 s)
    const outcomes = await Promise.all(Object.values(MALFORMED).map((payload) => raw(payload, 20_000)));
    for (const [i, name] of Object.keys(MALFORMED).entries()) {
      const { answer, closedAfterMs } = outcomes[i]!;
      assert.equal(answer, '', `${name}: answered ${JSON.stringify(answer.slice(0, 100))}`);
      assert.ok(closedAfterMs >= 4000, `${name}: closed after ${closedAfterMs} ms, not held (has uWS changed?)`);
    }
    await assertAlive();
  });

  test('48 header lines are still answered (the limit is exact)', async () => {
    const { head } = await exchange(get(Array.from({ length: 47 }, (_, i) => `X-${i}: v`)));
    assert.equal(statusOf(head), 200);
  });

  test('two pipelined requests in one write: neither answered, the connection closed at once', async () => {
    const { answer, closedAfterMs } = await raw(get([]) + get([]), 5000);
    assert.equal(answer, '');
    assert.ok(closedAfterMs < 5000);
    await assertAlive();
  });
});

describe('OPTIONS and HEAD', () => {
  test('OPTIONS refused by CORS: 403 in the error shape', async () => {
    const res = await request(server.url, 'OPTIONS', '/auth/login', { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { error: 'origin not allowed', code: 'forbidden_origin' });
  });

  test("HEAD: the GET answer's status and headers, no body, and the connection serves the next request", async () => {
    for (const path of ['/health', '/nope', '/rooms/me']) {
      const asGet = await exchange(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      asGet.socket.destroy();
      const { head, body, socket } = await exchange(`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(statusOf(head), statusOf(asGet.head), path);
      assert.equal(body, '', `${path}: HEAD answered with a body`); // one corked write: it would be here
      assert.match(head, new RegExp(`^content-length: ${Buffer.byteLength(asGet.body)}$`, 'im'), path);
      // the next request on the same connection gets its own answer: no body bytes came between
      const next = await new Promise<string>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString('latin1');
          if (text.includes('{"status":"ok"}')) resolve(text);
        });
        socket.on('error', reject);
        socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      socket.destroy();
      assert.ok(next.startsWith('HTTP/1.1 200 OK'), `${path}: ${JSON.stringify(next.slice(0, 60))}`);
    }
  });
});

describe('WebSocket handshakes', () => {
  const upgrade = (path: string, lines: string[]) => [`GET ${path} HTTP/1.1`, 'Host: x', ...lines].join('\r\n') + '\r\n\r\n';
  const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';

  test('version 8: 426 with Sec-WebSocket-Version: 13; no Upgrade or no Connection: upgrade: 400', async () => {
    const user = await registerUser(server.url);
    const path = `/ws/notifications?token=${user.token}`;
    const cases = [
      {
        lines: ['Upgrade: websocket', 'Connection: Upgrade', KEY, 'Sec-WebSocket-Version: 8'],
        status: 426,
        code: 'unsupported_websocket_version',
      },
      { lines: ['Connection: Upgrade', KEY, 'Sec-WebSocket-Version: 13'], status: 400, code: 'invalid_handshake' },
      { lines: ['Upgrade: websocket', KEY, 'Sec-WebSocket-Version: 13'], status: 400, code: 'invalid_handshake' },
      { lines: ['Upgrade: h2c', 'Connection: Upgrade', KEY, 'Sec-WebSocket-Version: 13'], status: 400, code: 'invalid_handshake' },
    ];
    for (const { lines, status, code } of cases) {
      const { head, body, socket } = await exchange(upgrade(path, lines));
      socket.destroy();
      assert.equal(statusOf(head), status, lines.join(' | '));
      assert.equal(JSON.parse(body).code, code);
      if (status === 426) assert.match(head, /^sec-websocket-version: 13$/im);
    }
    // header values are compared as the RFC says: case-insensitive tokens in a list
    const accepted = await exchange(
      upgrade(path, ['Upgrade: WebSocket', 'Connection: keep-alive, Upgrade', KEY, 'Sec-WebSocket-Version: 13']),
    );
    accepted.socket.destroy();
    assert.equal(statusOf(accepted.head), 101);
  });
});

describe('WebSocket frames', () => {
  /** Opens a socket, sends one text frame, resolves with the close code and the frames received. */
  function sendOne(url: string, frame: string | Buffer): Promise<{ code: number; frames: string[] }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const frames: string[] = [];
      ws.on('message', (data: Buffer) => {
        frames.push(data.toString());
        // an answer to the frame itself means the socket took it: close it ourselves
        if (/"type":"error"/.test(data.toString())) ws.close(1000);
      });
      // the first frame is the server's own greeting (notifications) or nothing (room): send at once
      ws.on('open', () => ws.send(frame, { binary: false }));
      ws.on('close', (code) => resolve({ code, frames }));
      ws.on('error', () => {}); // the close event follows with 1006
      setTimeout(() => reject(new Error('socket not closed within 5 s')), 5000).unref();
    });
  }

  test('over 64 KiB: close 1009 on both sockets; over 128 KiB or invalid UTF-8: TCP dropped (1006, uWS); the server lives', async () => {
    const { a, roomId } = await matchPair(server.url);
    const urls = { room: roomUrl(server.wsUrl, roomId, a.token), notifications: `${server.wsUrl}/ws/notifications?token=${a.token}` };
    for (const [name, url] of Object.entries(urls)) {
      const exactly = await sendOne(url, JSON.stringify({ type: 'message', content: 'x'.repeat(64 * 1024 - 50) }).padEnd(64 * 1024));
      assert.equal(exactly.code, 1000, `${name}: a 64 KiB frame is answered, not closed`);
      // other frames (online_count) may come after the answer: look for it among them
      assert.ok(
        exactly.frames.some((f) => /"type":"error"/.test(f)),
        `${name}: ${exactly.frames.join(' ')}`,
      );
      assert.equal((await sendOne(url, 'x'.repeat(64 * 1024 + 1))).code, 1009, `${name}: 64 KiB + 1`);
      assert.equal((await sendOne(url, 'x'.repeat(128 * 1024))).code, 1009, `${name}: 128 KiB`);
      assert.equal((await sendOne(url, 'x'.repeat(128 * 1024 + 1))).code, 1006, `${name}: 128 KiB + 1 (uWS)`);
      assert.equal((await sendOne(url, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).code, 1006, `${name}: invalid UTF-8 (uWS)`);
    }
    await assertAlive();
  });
});
