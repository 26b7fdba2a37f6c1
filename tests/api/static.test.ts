/**
 * The web client's files: content types, caching (ETag + no-cache, 304 on revalidation), the
 * page's security headers, no path outside the client's own files, and the API unchanged around
 * them (its routes keep precedence; unknown paths stay a JSON 404).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

/** One raw HTTP/1.1 request with the path sent exactly as given (fetch would normalise `..`). */
function rawGet(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
  });
}

describe('the web client files', () => {
  test('/ is the page: HTML, revalidated every time, same-origin only', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('etag') ?? '', /^"[\w-]{22}"$/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*script-src 'self'/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/main\.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from another host');
  });

  test('each file with its content type; the ETag answers 304 until the file changes', async () => {
    const types: Array<[string, string]> = [
      ['/main.js', 'text/javascript; charset=utf-8'],
      ['/chat-view.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/icon.svg', 'image/svg+xml'],
      ['/index.html', 'text/html; charset=utf-8'],
    ];
    for (const [path, type] of types) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      const etag = res.headers.get('etag')!;
      assert.ok((await res.arrayBuffer()).byteLength > 0, path);
      const again = await fetch(server.url + path, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, path);
      assert.equal(again.headers.get('etag'), etag);
      assert.equal((await again.arrayBuffer()).byteLength, 0);
      const changed = await fetch(server.url + path, { headers: { 'if-none-match': '"something-else"' } });
      assert.equal(changed.status, 200, path);
    }
  });

  test('HEAD answers the headers of GET without a body', async () => {
    const res = await fetch(`${server.url}/style.css`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(Number(res.headers.get('content-length')), (await (await fetch(`${server.url}/style.css`)).arrayBuffer()).byteLength);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test('no path reaches a file outside the client: every other path is the JSON 404', async () => {
    const outside = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/..%2fpackage.json',
      '/main.js/../../package.json',
      '//etc/passwd',
      '/web/public/index.html',
      '/dist/web/main.js',
      '/src/app.ts',
      '/.env',
      '/.data/jwt-secret',
      '/main.ts',
      '/main.js.map',
      '/MAIN.JS',
      '/main.js%00.css',
      '/style.css/',
    ];
    for (const path of outside) {
      const res = await rawGet(server.app.port, path);
      assert.equal(res.status, 404, path);
      assert.match(res.text, /\{"error":"route not found","code":"route_not_found"\}$/, path);
    }
  });

  test('API routes keep precedence and their JSON answers', async () => {
    assert.deepEqual((await request(server.url, 'GET', '/health')).body, { status: 'ok' });
    const rooms = await request(server.url, 'GET', '/rooms/me');
    assert.equal(rooms.status, 401);
    assert.equal(rooms.body.code, 'missing_authorization');
    const unknown = await request(server.url, 'GET', '/rooms');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'route_not_found');
    const post = await request(server.url, 'POST', '/', { body: {} });
    assert.equal(post.status, 404, 'only GET and HEAD serve the page');
    assert.equal(post.body.code, 'route_not_found');
  });
});
