import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildAsyncApi } from '../docs/asyncapi.js';
import { renderAsyncApiPage } from '../docs/asyncapi-page.js';
import { buildOpenApi } from '../docs/openapi.js';
import { notFound } from '../http/errors.js';
import type { Router } from '../http/route.js';

/** The two files of swagger-ui-dist the reference page needs, read once (no CDN). */
function swaggerAssets(): Map<string, { body: Buffer; contentType: string }> {
  const dir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return new Map([
    ['swagger-ui.css', { body: readFileSync(path.join(dir, 'swagger-ui.css')), contentType: 'text/css; charset=utf-8' }],
    ['swagger-ui-bundle.js', { body: readFileSync(path.join(dir, 'swagger-ui-bundle.js')), contentType: 'text/javascript; charset=utf-8' }],
  ]);
}

const REFERENCE_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ephemeral chat API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <style>body { margin: 0 } .ws-link { font: 14px sans-serif; padding: 12px 20px; background: #f4f4f4 }</style>
</head>
<body>
  <p class="ws-link">HTTP API below (<a href="/openapi.json">/openapi.json</a>) ·
    <a href="/docs/websockets">WebSockets reference</a> (<a href="/asyncapi.json">/asyncapi.json</a>)</p>
  <div id="ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true });</script>
</body>
</html>
`;

/**
 * The machine-readable API documents and the pages that render them. Both documents are built
 * once at start from src/schemas/, the same schemas the routes validate with.
 */
export function docsRoutes(router: Router): void {
  const openApi = buildOpenApi();
  const asyncApi = buildAsyncApi();
  const websocketsPage = renderAsyncApiPage(asyncApi);
  const assets = swaggerAssets();
  const html = 'text/html; charset=utf-8';
  const cache = { 'cache-control': 'public, max-age=3600' };

  router.route('get', '/openapi.json', async () => ({ status: 200, body: openApi }));
  router.route('get', '/asyncapi.json', async () => ({ status: 200, body: asyncApi }));
  router.route('get', '/docs', async () => ({ status: 200, body: REFERENCE_PAGE, contentType: html }));
  router.route('get', '/docs/websockets', async () => ({ status: 200, body: websocketsPage, contentType: html }));
  router.route('get', '/docs/assets/:file', async ({ params }) => {
    const asset = assets.get(params[0] ?? '');
    if (!asset) throw notFound('route not found', 'route_not_found');
    return { status: 200, body: asset.body, contentType: asset.contentType, headers: cache };
  });
}
