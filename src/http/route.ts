import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { mapDatabaseError } from '../db/errors.js';
import { isTransientDatabaseError } from '../db/transient.js';
import { guard } from '../guard.js';
import { log, requestId, type Log } from '../log.js';
import { observeRequest } from '../metrics.js';
import { readJsonBody } from './body.js';
import { clientAddress } from './client-address.js';
import { HttpError } from './errors.js';
import type { InFlight } from './in-flight.js';
import { errorBody, send, type Reply } from './respond.js';
import type { Cors } from './cors.js';

/** What a handler sees of a request: everything copied out of uWS before the first await. */
export interface RequestContext {
  params: string[];
  query: URLSearchParams;
  authorization: string;
  /** How many Authorization headers came: more than one is refused on protected routes. */
  authorizationHeaders: number;
  clientAddress: string;
  body: unknown;
  /** Set by the bearer check on protected routes. */
  userId: string;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;
export type Authenticate = (authorization: string) => Promise<string>;

type Method = 'get' | 'post' | 'patch' | 'del';

/** One route as registered: what /openapi.json must describe, no more and no less (a test checks). */
export interface RegisteredRoute {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** The uWS pattern, e.g. /rooms/:room_id */
  pattern: string;
  auth: boolean;
}

export interface Router {
  route(method: Method, pattern: string, handler: Handler, options?: { auth?: boolean }): void;
  /** Every route registered so far, in registration order. */
  routes(): RegisteredRoute[];
}

/**
 * Wraps uWS handlers with what every route needs: abort tracking, body parsing, the bearer
 * check, CORS headers, and one error boundary that turns every failure into the contract's
 * error shape (never a stack trace, never SQL text).
 */
export function createRouter(app: TemplatedApp, authenticate: Authenticate, cors: Cors, trustProxy: number, inFlight: InFlight): Router {
  const registered: RegisteredRoute[] = [];
  return {
    routes: () => [...registered],
    route(method, pattern, handler, options = {}) {
      registered.push({ method: method === 'del' ? 'delete' : method, pattern, auth: options.auth ?? false });
      const paramCount = (pattern.match(/:/g) ?? []).length;
      const serve = (res: HttpResponse, req: HttpRequest, withoutBody: boolean): Promise<void> => {
        const started = performance.now();
        const verb = withoutBody ? 'HEAD' : method === 'del' ? 'DELETE' : method.toUpperCase();
        const requestLog = log.child({ req: requestId(req.getHeader('x-request-id')) });
        const url = req.getUrl();
        let aborted = false;
        // counted until answered; a client gone before its body was whole is never answered
        // (its body never completes), so it stops counting then
        let handling = false;
        let finished = () => {};
        res.onAborted(() => {
          aborted = true;
          if (!handling) finished();
        });
        const origin = req.getHeader('origin');
        const contentLength = req.getHeader('content-length');
        const ctx: RequestContext = {
          params: Array.from({ length: paramCount }, (_, i) => req.getParameter(i) ?? ''),
          query: new URLSearchParams(req.getQuery() ?? ''),
          authorization: req.getHeader('authorization'),
          authorizationHeaders: countHeaders(req, 'authorization'),
          clientAddress: clientAddress(res, req, trustProxy),
          body: undefined,
          userId: '',
        };
        const body = method === 'get' ? Promise.resolve(undefined) : readJsonBody(res, contentLength ? Number(contentLength) : undefined);

        finished = inFlight.begin();
        return (async (): Promise<Reply> => {
          ctx.body = await body;
          handling = true;
          if (options.auth) {
            // uWS's getHeader gives the first of several: two tokens must never mean "the first one"
            if (ctx.authorizationHeaders > 1) throw new HttpError(400, 'more than one authorization header', 'ambiguous_authorization');
            ctx.userId = await authenticate(ctx.authorization);
          }
          return handler(ctx);
        })()
          .catch((error) => toErrorReply(error, requestLog))
          .then((reply) => {
            finished();
            const status = aborted ? 499 : reply.status; // 499: the client went away first (nginx's convention)
            observeRequest(verb, pattern, status, started);
            requestLog.access(`${verb} ${url} ${status}`, {
              method: verb,
              url,
              route: pattern,
              status,
              ms: Math.round(performance.now() - started),
              client: ctx.clientAddress,
            });
            if (aborted) return;
            send(res, { ...reply, headers: { ...cors.headersFor(origin), ...reply.headers } }, { withoutBody });
          });
      };
      const where = `${method === 'del' ? 'DELETE' : method.toUpperCase()} ${pattern}`;
      app[method](
        pattern,
        guard(where, (res: HttpResponse, req: HttpRequest) => serve(res, req, false), answerInternalError),
      );
      // HEAD is GET without the body (same status and headers, Content-Length of the body not sent)
      if (method === 'get') {
        app.head(
          pattern,
          guard(`HEAD ${pattern}`, (res: HttpResponse, req: HttpRequest) => serve(res, req, true), answerInternalError),
        );
      }
    },
  };
}

/** The `recover` of every HTTP callback's guard: whatever failed, the client gets a 500. */
export function answerInternalError(res: HttpResponse): void {
  send(res, { status: 500, body: errorBody('internal server error', 'internal') });
}

/** How many times a (lower-case) header occurs in the request. */
function countHeaders(req: HttpRequest, name: string): number {
  let count = 0;
  req.forEach((key) => {
    if (key === name) count++;
  });
  return count;
}

export function toErrorReply(error: unknown, requestLog: Log = log): Reply {
  if (error instanceof HttpError) {
    return { status: error.status, body: errorBody(error.message, error.code, error.details), headers: error.headers };
  }
  const mapped = mapDatabaseError(error);
  if (mapped) {
    const headers = mapped.status === 429 && mapped.detail ? { 'retry-after': mapped.detail } : undefined;
    return { status: mapped.status, body: errorBody(mapped.message, mapped.code, mapped.details), headers };
  }
  // the database restarting: 503, the client retries; nothing unexpected to report
  const unavailable = isTransientDatabaseError(error);
  if (!unavailable) requestLog.error('unexpected error in a request', error);
  return unavailable
    ? { status: 503, body: errorBody('service temporarily unavailable', 'unavailable') }
    : { status: 500, body: errorBody('internal server error', 'internal') };
}
