import type { TemplatedApp } from 'uWebSockets.js';
import type { AuthStates } from '../auth/auth-states.js';
import type { TokenCheck } from '../auth/bearer.js';
import type { Cors } from '../http/cors.js';
import type { InFlight } from '../http/in-flight.js';
import type { Hub } from '../realtime/hub.js';
import { sendCount, type Presence } from '../realtime/presence.js';
import type { SocketQuota } from '../realtime/socket-quota.js';
import {
  closeSocket,
  MAX_BUFFERED_BYTES,
  sendFrame,
  SIGNED_OUT_CODE,
  SIGNED_OUT_REASON,
  type NotificationSocketData,
} from '../realtime/sockets.js';
import { framesReceived, socketsOpen } from '../metrics.js';
import { socketBehavior } from '../realtime/socket-behavior.js';
import { upgradeHandler } from './upgrade.js';

export interface NotificationSocketDeps {
  checkToken: TokenCheck;
  authStates: AuthStates;
  cors: Cors;
  hub: Hub;
  presence: Presence;
  quota: SocketQuota;
  trustProxy: number;
  inFlight: InFlight;
}

/**
 * /ws/notifications — server → client only: unread badges on connect and after reads,
 * new_message, matched, room_closed, online_count. Anything a client sends gets an error frame.
 */
export function notificationSocketRoute(app: TemplatedApp, deps: NotificationSocketDeps): void {
  app.ws<NotificationSocketData>(
    '/ws/notifications',
    socketBehavior('/ws/notifications', {
      idleTimeout: 120,
      sendPingsAutomatically: true,
      maxBackpressure: 4 * MAX_BUFFERED_BYTES,
      upgrade: upgradeHandler<NotificationSocketData>(
        deps.checkToken,
        deps.cors,
        0,
        async ({ userId, issuedAt }, request) => ({
          userId,
          issuedAt,
          slot: deps.quota.reserveNotifications(request.address, userId),
          onlineCount: -1,
          closed: false,
        }),
        { trustProxy: deps.trustProxy, inFlight: deps.inFlight, abandoned: (data) => data.slot.release() },
      ),
      open: (ws) => {
        socketsOpen.inc({ socket: 'notifications' });
        // upgraded while the server began shutting down: nothing may start on the database now
        if (deps.hub.isStopped) return closeSocket(ws, 1001, 'server shutting down');
        // signed out (or deleted) while this handshake was on its way: the event found no socket to close
        const { userId, issuedAt } = ws.getUserData();
        if (deps.authStates.isKnownRevoked(userId, issuedAt)) return closeSocket(ws, SIGNED_OUT_CODE, SIGNED_OUT_REASON);
        deps.presence.add(ws);
        void deps.presence.countFor(ws).then((count) => sendCount(ws, count));
        void deps.hub.sendUnread(ws.getUserData().userId);
      },
      message: (ws) => {
        framesReceived.inc({ socket: 'notifications', type: 'unexpected' });
        sendFrame(ws, JSON.stringify({ type: 'error', code: 'unexpected_frame', message: 'this socket only sends' }));
      },
      close: (ws, code) => {
        socketsOpen.dec({ socket: 'notifications' });
        const data = ws.getUserData();
        data.log?.access(`socket closed ${code}`, { code });
        data.closed = true;
        data.slot.release();
        deps.presence.remove(ws);
      },
    }),
  );
}
