import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';
import { guard } from '../../src/guard.js';
import { answerInternalError } from '../../src/http/route.js';
import { send } from '../../src/http/respond.js';
import { log } from '../../src/log.js';
import { socketBehavior } from '../../src/realtime/socket-behavior.js';
import { request } from '../support/client.js';

/*
 * The crash barrier itself, on a uWS app of its own whose callbacks throw on purpose: an exception
 * in any HTTP or WebSocket callback (thrown, or a rejected promise) is logged once, answers its
 * client (500 in the error shape, or close 1011) and leaves the process serving. Without the
 * barrier each of these ends the test process.
 */

const logged: string[] = [];
const realError = log.error;
let listenSocket: uWS.us_listen_socket;
let base = '';

before(async () => {
  log.error = (message: string) => void logged.push(message);
  const app = uWS.App();
  app.get(
    '/sync',
    guard<[uWS.HttpResponse]>(
      'GET /sync',
      () => {
        throw new Error('thrown in the handler');
      },
      answerInternalError,
    ),
  );
  app.get(
    '/async',
    guard(
      'GET /async',
      async (res: uWS.HttpResponse) => {
        res.onAborted(() => {});
        await Promise.resolve();
        throw new Error('rejected after an await');
      },
      answerInternalError,
    ),
  );
  app.get(
    '/ok',
    guard('GET /ok', (res: uWS.HttpResponse) => send(res, { status: 200, body: { ok: true } })),
  );
  app.ws<{ closed: boolean; throwIn: string }>(
    '/ws/:where',
    socketBehavior('/ws/:where', {
      upgrade: guard(
        'upgrade',
        (res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t) => {
          if (req.getParameter(0) === 'upgrade') throw new Error('thrown in upgrade');
          res.upgrade(
            { closed: false, throwIn: req.getParameter(0) },
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          );
        },
        answerInternalError,
      ),
      open: (ws) => {
        if (ws.getUserData().throwIn === 'open') throw new Error('thrown in open');
      },
      message: async (ws, message) => {
        if (ws.getUserData().throwIn === 'message-async') {
          await Promise.resolve();
          throw new Error('rejected in message');
        }
        if (ws.getUserData().throwIn === 'message') throw new Error('thrown in message');
        ws.send(message, false);
      },
      close: (ws) => {
        if (ws.getUserData().throwIn === 'close') throw new Error('thrown in close');
      },
    }),
  );
  listenSocket = await new Promise((resolve, reject) => app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('no port')))));
  base = `127.0.0.1:${uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket)}`;
});
after(() => {
  log.error = realError;
  uWS.us_listen_socket_close(listenSocket);
});
beforeEach(() => {
  logged.length = 0;
});

async function assertServing(): Promise<void> {
  const res = await request(`http://${base}`, 'GET', '/ok', { contract: false }); // a test app, not the API
  assert.deepEqual([res.status, res.body], [200, { ok: true }]);
}

/** Opens a socket, sends `frame` if given, resolves with the close code the client saw. */
function closeCode(where: string, frame?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${base}/ws/${where}`);
    ws.on('open', () => {
      if (frame !== undefined) ws.send(frame);
      else if (where === 'close') ws.close(1000);
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => {});
    setTimeout(() => reject(new Error(`socket ${where} not closed`)), 5000).unref();
  });
}

describe('HTTP callbacks', () => {
  for (const path of ['/sync', '/async']) {
    test(`${path}: a 500 in the error shape, logged once, the server serves on`, async () => {
      const res = await request(`http://${base}`, 'GET', path, { contract: false });
      assert.deepEqual([res.status, res.body], [500, { error: 'internal server error', code: 'internal' }]);
      assert.deepEqual(logged, [`GET ${path} failed`]);
      await assertServing();
    });
  }

  test('an upgrade handler that throws: a 500 before any upgrade, logged once', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://${base}/ws/upgrade`);
      ws.on('unexpected-response', (req, res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      ws.on('error', reject);
    });
    assert.equal(status, 500);
    assert.deepEqual(logged, ['upgrade failed']);
    await assertServing();
  });
});

describe('WebSocket callbacks', () => {
  for (const where of ['open', 'message', 'message-async']) {
    test(`${where}: the socket is closed with 1011, logged once, the server serves on`, async () => {
      assert.equal(await closeCode(where, where === 'open' ? undefined : '{}'), 1011);
      assert.deepEqual(logged, [`/ws/:where ${where.replace('-async', '')} failed`]);
      await assertServing();
    });
  }

  test('close: logged once, the server serves on', async () => {
    assert.equal(await closeCode('close'), 1000);
    const deadline = Date.now() + 5000;
    while (logged.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(logged, ['/ws/:where close failed']);
    await assertServing();
  });

  test('a frame over 64 KiB is closed with 1009; one of exactly 64 KiB is taken', async () => {
    assert.equal(await closeCode('echo', 'x'.repeat(64 * 1024 + 1)), 1009);
    const echoed = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://${base}/ws/echo`);
      ws.on('open', () => ws.send('x'.repeat(64 * 1024)));
      ws.on('message', (data: Buffer) => {
        ws.close();
        resolve(data.length);
      });
      ws.on('error', reject);
    });
    assert.equal(echoed, 64 * 1024);
    assert.deepEqual(logged, []);
  });
});
