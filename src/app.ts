import { randomUUID } from 'node:crypto';
import uWS from 'uWebSockets.js';
import { AuthStates } from './auth/auth-states.js';
import { createAuthenticate, createTokenCheck } from './auth/bearer.js';
import { createPasswords } from './auth/passwords.js';
import { applyUserEvent, recheckSockets, isUserEnvelope } from './auth/revocations.js';
import { createTokens } from './auth/tokens.js';
import type { Config } from './config.js';
import { createPool } from './db/pool.js';
import { gatewayDatabaseUrl } from './db/roles.js';
import { startExpiry } from './expiry.js';
import { guard } from './guard.js';
import { createCors } from './http/cors.js';
import { errorBody, send } from './http/respond.js';
import { InFlight } from './http/in-flight.js';
import { answerInternalError, createRouter, type RegisteredRoute } from './http/route.js';
import { staticRoutes } from './http/static.js';
import { startListener } from './listener.js';
import { log } from './log.js';
import { addMetricsSource, observeRequest } from './metrics.js';
import { SendBatcher } from './realtime/batcher.js';
import { Hub } from './realtime/hub.js';
import { Presence } from './realtime/presence.js';
import { SocketQuota } from './realtime/socket-quota.js';
import { closeSocket } from './realtime/sockets.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { poolRoutes } from './routes/pool.js';
import { reactionRoutes } from './routes/reactions.js';
import { roomRoutes } from './routes/rooms.js';
import { safetyRoutes } from './routes/safety.js';
import { notificationSocketRoute } from './routes/ws-notifications.js';
import { roomSocketRoute } from './routes/ws-room.js';

export interface RunningApp {
  port: number;
  /** Where /metrics is served: `port`, or METRICS_PORT's own listener. */
  metricsPort: number;
  gatewayId: string;
  /** The HTTP routes served, as registered (tests compare them with /openapi.json). */
  routes: RegisteredRoute[];
  /**
   * Shutdown in order: stop accepting, close every WebSocket (1001), commit what was already
   * submitted, let the feeds and the requests in flight finish, close the remaining HTTP
   * connections, then end the listener, pg-boss and the pool.
   */
  close(): Promise<void>;
}

/**
 * Wires one gateway process on an already migrated database and starts listening. Used by
 * server.ts and, in-process on port 0, by the tests. `ownerUrl` serves pg-boss only: requests and
 * the listener use the gateway's login role, which can do nothing but execute api.*.
 */
export async function startApp(config: Config, ownerUrl: string): Promise<RunningApp> {
  const gatewayId = randomUUID();
  const gatewayUrl = gatewayDatabaseUrl(ownerUrl, config.gatewayDatabaseUrl, config.jwtSecret);
  // every send lane can have its transaction in flight with connections left for requests
  const db = createPool(gatewayUrl, Math.max(20, config.sendLanes + 10));
  const tokens = createTokens(config.jwtSecret);
  const passwords = await createPasswords({ concurrency: config.hashConcurrency, queue: config.hashQueue });
  const cors = createCors(config.corsOrigins);
  const presence = new Presence(db, gatewayId);
  const batcher = new SendBatcher(db, config.sendBatchMax, config.sendBatchMs, config.sendLanes, config.sendQueueMax);
  const hub = new Hub(db, gatewayId, presence, () => batcher.settled());
  const authStates = new AuthStates(db);
  const checkToken = createTokenCheck(tokens, authStates);
  // every socket, so shutdown and a sign-out everywhere can close them
  const openSockets = () => [...presence.allSockets(), ...hub.allSockets()];
  const listener = await startListener(
    gatewayUrl,
    (event) => (isUserEnvelope(event) ? applyUserEvent(event, authStates, openSockets) : hub.dispatch(event)),
    () => {
      // a revocation may have been missed while disconnected: the cache and the open sockets are checked again
      void recheckSockets(authStates, openSockets).catch((error) => log.warn('sockets not checked again after a reconnect', error));
      hub.catchUp();
    },
  );
  const expiry = await startExpiry(ownerUrl, db);
  const removeMetricsSource = addMetricsSource({ db });

  const app = uWS.App();
  const inFlight = new InFlight();
  const router = createRouter(app, createAuthenticate(checkToken), cors, config.trustProxy, inFlight);
  healthRoutes(router, db);
  authRoutes(router, db, passwords, tokens, config.registrationsPerHour, authStates);
  accountRoutes(router, db, passwords, tokens, authStates);
  // the 201 does not wait for the job: a room whose job is lost is still expired by the sweep
  poolRoutes(
    router,
    db,
    config.roomTtlMs,
    config.poolQueueMax,
    (room) => void expiry.schedule(room).catch((error) => log.warn(`expiry job not scheduled (the sweep will catch it): ${error.message}`)),
  );
  roomRoutes(router, db);
  reactionRoutes(router, db);
  safetyRoutes(router, db, config);
  docsRoutes(router);
  const quota = new SocketQuota(config);
  roomSocketRoute(app, { db, checkToken, authStates, cors, hub, batcher, gatewayId, quota, trustProxy: config.trustProxy, inFlight });
  notificationSocketRoute(app, { checkToken, authStates, cors, hub, presence, quota, trustProxy: config.trustProxy, inFlight });
  staticRoutes(app);

  app.options(
    '/*',
    guard(
      'OPTIONS',
      (res, req) => {
        const origin = req.getHeader('origin');
        const allowed = cors.isPreflightAllowed(origin);
        send(res, {
          status: allowed ? 204 : 403,
          body: allowed ? undefined : errorBody('origin not allowed', 'forbidden_origin'),
          headers: {
            ...cors.headersFor(origin),
            'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
            'access-control-allow-headers': 'authorization, content-type',
            'access-control-max-age': '600',
          },
        });
      },
      answerInternalError,
    ),
  );
  // on its own port, /metrics is not served on the public one
  const metricsApp = config.metricsPort === undefined ? app : uWS.App();
  metricsRoute(metricsApp);
  for (const served of new Set([app, metricsApp])) {
    served.any(
      '/*',
      guard(
        'unknown route',
        (res, req) => {
          observeRequest(req.getMethod().toUpperCase(), '(unmatched)', 404, performance.now());
          send(res, { status: 404, body: errorBody('route not found', 'route_not_found') }, { withoutBody: req.getMethod() === 'head' });
        },
        answerInternalError,
      ),
    );
  }

  const listenSocket = await listen(app, config.port);
  const metricsSocket = metricsApp === app ? listenSocket : await listen(metricsApp, config.metricsPort!);
  presence.start();

  return {
    port: localPort(listenSocket),
    metricsPort: localPort(metricsSocket),
    gatewayId,
    routes: router.routes(),
    async close() {
      uWS.us_listen_socket_close(listenSocket);
      if (metricsSocket !== listenSocket) uWS.us_listen_socket_close(metricsSocket);
      removeMetricsSource();
      // no more events, joins or catch-ups: sockets closing now must not start anything new
      const feedsStopped = hub.stop();
      // no frame arrives after this, so the drain below is final: a frame already submitted is
      // committed (its sender may not see the ack, and retries with its client_id), none is lost
      for (const ws of openSockets()) closeSocket(ws, 1001, 'server shutting down');
      await batcher.drain();
      await feedsStopped;
      await inFlight.idle();
      // keep-alive HTTP connections would hold the process (and the port) open: close them all
      (app as unknown as { close(): void }).close(); // in uWS 20.30, missing from its typings
      await presence.stop();
      await expiry.stop().catch((error) => log.warn(`pg-boss stop: ${error.message}`));
      await listener.stop().catch((error) => log.warn(`listener stop: ${error.message}`));
      await db.end();
    },
  };
}

function listen(app: uWS.TemplatedApp, port: number): Promise<uWS.us_listen_socket> {
  return new Promise((resolve, reject) =>
    app.listen(port, (socket) => (socket ? resolve(socket) : reject(new Error(`port ${port} is not available`)))),
  );
}

function localPort(socket: uWS.us_listen_socket): number {
  return uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
}
