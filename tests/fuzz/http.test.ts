import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matchPair, request, type Response } from '../support/client.js';
import { ROUTES, assertContractAnswer, pathOf } from '../support/routes.js';
import { withTestServer, type TestServer } from '../support/server.js';
import { bodyText, fuzzRuns, headerValue, hostileString, idLike } from './arbitraries.js';
import { describeGrowth, readMemory } from './memory.js';

/*
 * Every route with any body, path id, query and headers: never a 5xx, every 4xx in the contract's
 * shape, every request answered within 5 s, the server alive, and memory flat over the run.
 * FUZZ_RUNS sets the count (`npm run test:fuzz -- --runs 100000`).
 */

let server: TestServer;
// behind one trusted proxy, so the fuzzed X-Forwarded-For and Forwarded headers are parsed too
withTestServer(
  (s) => {
    server = s;
  },
  { trustProxy: 1 },
);

/** Path segments as a client could send them: plain when URL-safe, else percent-encoded bytes. */
const segment = (id: string) =>
  /^[\w.:~-]+$/.test(id) ? id : [...Buffer.from(id)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(fc.oneof(fc.constantFrom('limit', 'before', 'after_seq', 'token'), hostileString), hostileString, { maxKeys: 4 })
    .map((q) => `?${new URLSearchParams(q as Record<string, string>)}`),
  headerValue.map((text) => `?${text.replace(/[\s#]/g, '')}`),
);

const extraHeaders = fc.dictionary(
  fc.oneof(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.constantFrom('x-forwarded-for', 'forwarded')),
  fc.oneof(
    headerValue,
    fc.ipV4().map((ip) => `${ip}, 10.0.0.1`),
    fc.ipV6().map((ip) => `for="[${ip}]:80"`),
  ),
  { maxKeys: 5 },
);

test('HTTP: any request to any route: no 5xx, every 4xx {error, code}, answered in time, memory flat', async (t) => {
  const { a, roomId } = await matchPair(server.url);
  const messageId = (await request(server.url, 'GET', `/rooms/${roomId}/messages`, { token: a.token })).body[0]?.id ?? roomId;
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.constant(`Bearer ${a.token}`),
    fc.constant(`Bearer ${a.token.slice(0, -2)}xx`),
    headerValue.map((v) => `Bearer ${v}`),
    headerValue,
  );
  const requestArb = fc.record({
    route: fc.constantFrom(...ROUTES),
    id: fc.oneof(idLike, fc.constantFrom(roomId, messageId)),
    query,
    body: bodyText,
    authorization,
    contentType: fc.oneof(fc.constant('application/json'), fc.constant(undefined), headerValue),
    origin: fc.oneof(fc.constant(undefined), headerValue),
    extra: extraHeaders,
  });

  const runs = fuzzRuns(300);
  const before = readMemory();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(requestArb, async (r) => {
      const headers: Record<string, string> = { ...r.extra };
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      if (r.origin !== undefined) headers.origin = r.origin;
      const path = pathOf(r.route, segment(r.id)) + r.query;
      const what = `${r.route.method} ${path}`;
      const res: Response = await withDeadline(
        what,
        request(server.url, r.route.method, path, {
          headers,
          rawBody: r.route.method === 'GET' ? undefined : r.body,
        }),
      );
      assertContractAnswer(res, what);
    }),
    { numRuns: runs },
  );
  const after = readMemory();
  t.diagnostic(`${runs} requests in ${Date.now() - started} ms; ${describeGrowth(before, after)}`);
  assert.equal((await request(server.url, 'GET', '/health')).status, 200);
  // generous: a leak of even a few hundred bytes per request shows over a long run
  assert.ok(after.heapMiB - before.heapMiB < 64, describeGrowth(before, after));
});

/** "No hang": a request unanswered after 5 s fails the property (and is shrunk like any failure). */
function withDeadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within 5 s`)), 5000);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
