import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { guard } from '../guard.js';
import { log } from '../log.js';
import { answerInternalError } from './route.js';

/**
 * The web client: web/public (HTML, CSS, icon) and dist/web (its compiled TypeScript), read once
 * at start-up. Each file gets a route of its own for its exact path, so a request path is never
 * joined to a folder (no traversal is possible), API routes keep precedence and every other path
 * still reaches the JSON 404. Every file is answered with a strong ETag and `no-cache`: browsers
 * revalidate and get a 304 while nothing changed, and see a new build at once.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const ROOTS = [path.join(repoRoot, 'web', 'public'), path.join(repoRoot, 'dist', 'web')];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json',
};

/** Same-origin only: the page may talk to its own server (HTTP and ws/wss) and load nothing else. */
const PAGE_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; " +
  "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

interface StaticFile {
  body: Buffer;
  etag: string;
  contentType: string;
}

/** Files below `root` whose extension the client serves, keyed by URL path ("/app.js"). */
function collect(root: string, files: Map<string, StaticFile>): void {
  let names: string[];
  try {
    names = readdirSync(root, { recursive: true }) as string[];
  } catch {
    return;
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    const full = path.join(root, name);
    if (!contentType || !statSync(full).isFile()) continue;
    const body = readFileSync(full);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(`/${name.split(path.sep).join('/')}`, { body, etag, contentType });
  }
}

export function staticRoutes(app: TemplatedApp, roots: string[] = ROOTS): void {
  const files = new Map<string, StaticFile>();
  for (const root of roots) collect(root, files);
  const index = files.get('/index.html');
  if (!index) {
    log.warn('web client not built (no web/public/index.html): / answers 404');
    return;
  }
  const routes: Array<[string, StaticFile]> = [...files, ['/', index]];
  for (const [urlPath, file] of routes) {
    const handler = guard(
      'static file',
      (res: HttpResponse, req: HttpRequest) => serveFile(res, req, file, file === index),
      answerInternalError,
    );
    app.get(urlPath, handler);
    app.head(urlPath, handler);
  }
}

function serveFile(res: HttpResponse, req: HttpRequest, file: StaticFile, isPage: boolean): void {
  const fresh = req
    .getHeader('if-none-match')
    .split(',')
    .some((tag) => tag.trim().replace(/^W\//, '') === file.etag);
  const head = req.getMethod() === 'head';
  res.cork(() => {
    res.writeStatus(fresh ? '304 Not Modified' : '200 OK');
    res.writeHeader('etag', file.etag);
    res.writeHeader('cache-control', 'no-cache');
    res.writeHeader('x-content-type-options', 'nosniff');
    if (isPage) {
      res.writeHeader('content-security-policy', PAGE_POLICY);
      res.writeHeader('referrer-policy', 'no-referrer');
    }
    if (fresh) {
      res.end();
      return;
    }
    res.writeHeader('content-type', file.contentType);
    if (head) {
      // as in respond.ts: uWS 20.30's endWithoutBody(length) never ends, so the length is a header
      res.writeHeader('content-length', String(file.body.byteLength));
      res.endWithoutBody();
    } else {
      res.end(file.body);
    }
  });
}
