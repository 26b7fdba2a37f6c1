import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { TokenCheck } from '../auth/bearer.js';
import type { Identity } from '../auth/tokens.js';
import { guard } from '../guard.js';
import { clientAddress } from '../http/client-address.js';
import { HttpError } from '../http/errors.js';
import type { Cors } from '../http/cors.js';
import type { InFlight } from '../http/in-flight.js';
import { answerInternalError, toErrorReply } from '../http/route.js';
import { send } from '../http/respond.js';
import { log, requestId, type Log } from '../log.js';
import { socketHandshakes } from '../metrics.js';
import { handshakeError } from './handshake.js';

/** What an upgrade handler copies out of the request before its first await. */
export interface UpgradeRequest {
  key: string;
  protocol: string;
  extensions: string;
  origin: string;
  host: string;
  query: URLSearchParams;
  params: string[];
  /** The client address per-address limits count (see clientAddress). */
  address: string;
}

export interface UpgradeOptions<T> {
  trustProxy: number;
  /** Handshakes being checked (shutdown waits for them before it ends the database pool). */
  inFlight: InFlight;
  /** The client went away after `authorize` succeeded: give back what it took (its socket slot). */
  abandoned?: (data: T) => void;
}

/**
 * The one token of a handshake, from ?token= or a "bearer.<jwt>" sub-protocol (plus that
 * sub-protocol, to echo back). Both may come, but only naming the same token: several ?token=,
 * several bearer sub-protocols, or two different tokens are refused (400) rather than picked from.
 */
export function handshakeToken(query: URLSearchParams, protocolHeader: string): { token?: string; protocol?: string } {
  const fromQuery = query.getAll('token');
  const protocols = protocolHeader
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith('bearer.'));
  const candidates = new Set([...fromQuery, ...protocols.map((p) => p.slice('bearer.'.length))]);
  if (fromQuery.length > 1 || protocols.length > 1 || candidates.size > 1) {
    throw new HttpError(400, 'more than one token in the handshake', 'ambiguous_authorization');
  }
  return { token: [...candidates][0] || undefined, protocol: protocols[0] };
}

/**
 * The shared part of both WebSocket handshakes: a well-formed handshake (400/426), Origin
 * allow-list (403), the token (400 when ambiguous, 401 when missing, invalid, revoked or its
 * user is gone), then the socket-specific `authorize` step. Every refusal is a plain HTTP answer
 * before the upgrade. The sub-protocol carrying the token is echoed back, as browsers require.
 */
export function upgradeHandler<T extends { log?: Log }>(
  checkToken: TokenCheck,
  cors: Cors,
  paramCount: number,
  authorize: (identity: Identity, request: UpgradeRequest) => Promise<T>,
  options: UpgradeOptions<T>,
) {
  const upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): Promise<void> => {
    const socket = paramCount === 0 ? 'notifications' : 'room';
    const connectionLog = log.child({ conn: requestId(req.getHeader('x-request-id')) });
    const url = req.getUrl(); // the path only: the query may hold the token
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    /** Counts and (with LOG_REQUESTS) logs the handshake's outcome; 499: the client left first. */
    const outcome = (answered: number) => {
      const status = aborted ? 499 : answered;
      socketHandshakes.inc({ socket, status });
      connectionLog.access(`upgrade ${url} ${status}`, { url, status });
    };
    const request: UpgradeRequest = {
      key: req.getHeader('sec-websocket-key'),
      protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'),
      origin: req.getHeader('origin'),
      host: req.getHeader('host'),
      query: new URLSearchParams(req.getQuery() ?? ''),
      params: Array.from({ length: paramCount }, (_, i) => req.getParameter(i) ?? ''),
      address: clientAddress(res, req, options.trustProxy),
    };
    const invalid = handshakeError({
      upgrade: req.getHeader('upgrade'),
      connection: req.getHeader('connection'),
      version: req.getHeader('sec-websocket-version'),
      key: request.key,
    });

    return options.inFlight.track(
      (async () => {
        if (invalid) throw invalid;
        if (!cors.allowsSocketOrigin(request.origin, request.host)) throw new HttpError(403, 'origin not allowed', 'forbidden_origin');
        const { token, protocol } = handshakeToken(request.query, request.protocol);
        if (!token) throw new HttpError(401, 'missing authorization', 'missing_authorization');
        const identity = await checkToken(token);
        const data = await authorize(identity, request);
        data.log = connectionLog;
        return { data, protocol: protocol ?? '' };
      })().then(
        ({ data, protocol }) => {
          outcome(101);
          if (aborted) return options.abandoned?.(data);
          res.cork(() => res.upgrade(data, request.key, protocol, request.extensions, context));
        },
        (error) => {
          const reply = toErrorReply(error, connectionLog);
          outcome(reply.status);
          if (!aborted) send(res, reply);
        },
      ),
    );
  };
  return guard('WebSocket upgrade', upgrade, answerInternalError);
}
