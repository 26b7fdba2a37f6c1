import type pg from 'pg';
import type { TemplatedApp } from 'uWebSockets.js';
import { UUID, type Tokens } from '../auth/tokens.js';
import type { Cors } from '../http/cors.js';
import { HttpError } from '../http/errors.js';
import type { SendBatcher, SendResult } from '../realtime/batcher.js';
import { FrameError, parseClientFrame, type ClientFrame } from '../realtime/client-frames.js';
import type { Hub } from '../realtime/hub.js';
import { RateLimiter } from '../realtime/rate-limit.js';
import { sendFrame, MAX_BUFFERED_BYTES, type RoomSocket, type RoomSocketData } from '../realtime/sockets.js';
import { upgradeHandler } from './upgrade.js';

const MESSAGES_PER_SECOND = 20;
const TYPING_PER_SECOND = 2;

export interface RoomSocketDeps {
  db: pg.Pool;
  tokens: Tokens;
  cors: Cors;
  hub: Hub;
  batcher: SendBatcher;
  gatewayId: string;
}

/**
 * /ws/:room_id — a member's live view of one room. The handshake checks membership and that the
 * room is open (404/410 before the upgrade); frames are validated here and go to the database
 * through the send batcher; everything the socket receives comes from the room's feed.
 */
export function roomSocketRoute(app: TemplatedApp, deps: RoomSocketDeps): void {
  const messageLimit = new RateLimiter(MESSAGES_PER_SECOND);
  const typingLimit = new RateLimiter(TYPING_PER_SECOND);
  let nextSocketId = 1;

  const authorize = async (userId: string, request: { params: string[]; query: URLSearchParams }) => {
    const roomId = request.params[0] ?? '';
    if (!UUID.test(roomId)) throw new HttpError(404, 'room not found or access denied', 'room_not_found');
    const afterText = request.query.get('after_seq');
    if (afterText !== null && !/^\d{1,15}$/.test(afterText)) {
      throw new HttpError(400, 'after_seq must be a non-negative integer', 'invalid_request');
    }
    let access: { side: 'a' | 'b'; last_seq: number };
    try {
      const { rows } = await deps.db.query('select api.open_room_socket($1, $2) as access', [userId, roomId.toLowerCase()]);
      access = rows[0].access;
    } catch (error) {
      if ((error as { code?: string }).code === 'CRNFD') {
        throw new HttpError(404, 'room not found or access denied', 'room_not_found');
      }
      throw error;
    }
    const data: RoomSocketData = {
      id: nextSocketId++,
      userId,
      roomId: roomId.toLowerCase(),
      side: access.side,
      afterSeq: afterText === null ? null : Math.min(Number(afterText), Number(access.last_seq)),
      lastSeqAtHandshake: Number(access.last_seq),
      joined: false,
      waitingFrames: [],
      closed: false,
    };
    return data;
  };

  const reply = (ws: RoomSocket, frame: object) => sendFrame(ws, JSON.stringify(frame));
  const fail = (ws: RoomSocket, code: string, message: string, clientId?: string) =>
    reply(ws, clientId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, client_id: clientId });

  const RESULT_MESSAGES: Record<string, string> = {
    room_closed: 'room is no longer active',
    room_not_found: 'room not found',
    message_not_found: 'message not found in this room',
    invalid_content: 'content must be 1-4000 characters',
    unavailable: 'the message could not be stored, retry with the same client_id',
  };
  const failResult = (ws: RoomSocket, result: SendResult, clientId?: string) => {
    const code = result.ok ? 'internal' : result.code;
    fail(ws, code, RESULT_MESSAGES[code] ?? 'request failed', clientId);
  };

  function handle(ws: RoomSocket, frame: ClientFrame): void {
    const { userId, roomId } = ws.getUserData();
    switch (frame.type) {
      case 'message': {
        if (!messageLimit.take(userId)) {
          fail(ws, 'rate_limited', `at most ${MESSAGES_PER_SECOND} messages per second`, frame.client_id);
          return;
        }
        void deps.batcher
          .submit({ kind: 'message', room: roomId, user: userId, origin: `${deps.gatewayId}:${ws.getUserData().id}`,
                    content: frame.content, client_id: frame.client_id })
          .then((result) => {
            if (!result.ok) return failResult(ws, result, frame.client_id);
            reply(ws, { type: 'message_ack', id: result.id, seq: result.seq, client_id: frame.client_id ?? null, sent_at: result.sent_at });
          });
        return;
      }
      case 'typing':
        // beyond 2 per second typing is only a repeat of what the partner already sees
        if (typingLimit.take(`${userId}:${roomId}`)) {
          void deps.batcher.submit({ kind: 'typing', room: roomId, user: userId }).then((result) => {
            if (!result.ok) failResult(ws, result);
          });
        }
        return;
      case 'read':
        void deps.batcher.submit({ kind: 'read', room: roomId, user: userId, message_id: frame.id }).then((result) => {
          if (!result.ok) failResult(ws, result);
        });
        return;
    }
  }

  function onFrame(ws: RoomSocket, raw: ArrayBuffer): void {
    try {
      handle(ws, parseClientFrame(raw));
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      fail(ws, error.code, error.message, error.clientId);
    }
  }

  app.ws<RoomSocketData>('/ws/:room_id', {
    maxPayloadLength: 64 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    // sendFrame closes a socket at 1 MiB; uWS must never drop frames silently before that
    maxBackpressure: 4 * MAX_BUFFERED_BYTES,
    upgrade: upgradeHandler(deps.tokens, deps.cors, 1, authorize),
    open: (ws) =>
      deps.hub.joinRoom(ws, () => {
        for (const frame of ws.getUserData().waitingFrames.splice(0)) onFrame(ws, frame);
      }),
    message: (ws, message) => {
      const data = ws.getUserData();
      // frames sent while the socket is still catching up wait, in order, until it has joined
      if (data.joined) onFrame(ws, message);
      else data.waitingFrames.push(message.slice(0));
    },
    drain: () => {},
    close: (ws) => {
      ws.getUserData().closed = true;
      deps.hub.leaveRoom(ws);
    },
  });

}
