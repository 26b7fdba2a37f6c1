import type pg from 'pg';
import type { TemplatedApp } from 'uWebSockets.js';
import type { AuthStates } from '../auth/auth-states.js';
import type { TokenCheck } from '../auth/bearer.js';
import { UUID, type Identity } from '../auth/tokens.js';
import type { Cors } from '../http/cors.js';
import { HttpError } from '../http/errors.js';
import type { InFlight } from '../http/in-flight.js';
import type { SendBatcher, SendResult } from '../realtime/batcher.js';
import { FrameError, parseClientFrame, type ClientFrame } from '../realtime/client-frames.js';
import type { Hub } from '../realtime/hub.js';
import { RateLimiter } from '../realtime/rate-limit.js';
import type { SocketQuota } from '../realtime/socket-quota.js';
import {
  closeSocket,
  sendFrame,
  MAX_BUFFERED_BYTES,
  SIGNED_OUT_CODE,
  SIGNED_OUT_REASON,
  type RoomSocket,
  type RoomSocketData,
} from '../realtime/sockets.js';
import { frameErrors, framesReceived, socketsOpen } from '../metrics.js';
import { socketBehavior } from '../realtime/socket-behavior.js';
import { upgradeHandler, type UpgradeRequest } from './upgrade.js';

const MESSAGES_PER_SECOND = 20;
const TYPING_PER_SECOND = 2;
/** Frames, and their bytes, a socket may send before its resume is done (a burst of a reconnecting client). */
const MAX_WAITING_FRAMES = 256;
const MAX_WAITING_BYTES = 256 * 1024;
/**
 * Frames whose answer is not sent yet (answers wait for the earlier frames' ones). A client that
 * keeps sending while its earlier frames are still being committed is closed before their
 * answers pile up in memory; more than the waiting frames, which are all answered at once.
 */
const MAX_UNANSWERED = 2 * MAX_WAITING_FRAMES;

export interface RoomSocketDeps {
  db: pg.Pool;
  checkToken: TokenCheck;
  authStates: AuthStates;
  cors: Cors;
  hub: Hub;
  batcher: SendBatcher;
  gatewayId: string;
  quota: SocketQuota;
  trustProxy: number;
  inFlight: InFlight;
}

/**
 * /ws/:room_id — a member's live view of one room. The handshake checks membership and that the
 * room is open (404/410 before the upgrade); frames are validated here and go to the database
 * through the send batcher; everything the socket receives comes from the room's feed.
 */
export function roomSocketRoute(app: TemplatedApp, deps: RoomSocketDeps): void {
  const messageLimit = new RateLimiter(MESSAGES_PER_SECOND);
  const typingLimit = new RateLimiter(TYPING_PER_SECOND);
  const readLimit = new RateLimiter(MESSAGES_PER_SECOND);
  let nextSocketId = 1;

  const authorize = async ({ userId, issuedAt }: Identity, request: UpgradeRequest) => {
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
      issuedAt,
      roomId: roomId.toLowerCase(),
      // last: taken in the same turn as the checks above passed, so nothing can fail after it
      slot: deps.quota.reserveRoom(request.address, userId, roomId.toLowerCase()),
      side: access.side,
      afterSeq: afterText === null ? null : Math.min(Number(afterText), Number(access.last_seq)),
      lastSeqAtHandshake: Number(access.last_seq),
      joined: false,
      waitingFrames: [],
      ackedSeqs: new Set(),
      waitingBytes: 0,
      replies: Promise.resolve(),
      unanswered: 0,
      closed: false,
    };
    return data;
  };

  /*
   * Every answer to a frame (ack or error) goes out in the order the frames came, whatever the
   * database takes: the original client pairs answers with its pending sends first-in first-out.
   */
  const answer = (ws: RoomSocket, pending: Promise<object | undefined> | object | undefined) => {
    const data = ws.getUserData();
    if (data.closed) return;
    if (++data.unanswered > MAX_UNANSWERED) {
      closeSocket(ws, 1008, 'too many frames awaiting an answer');
      return;
    }
    data.replies = data.replies
      .then(() => pending)
      .then((frame) => {
        data.unanswered--;
        if (frame) sendFrame(ws, JSON.stringify(frame));
      });
  };
  const errorFrame = (code: string, message: string, clientId?: string) => {
    frameErrors.inc({ code });
    return clientId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, client_id: clientId };
  };

  const RESULT_MESSAGES: Record<string, string> = {
    room_closed: 'room is no longer active',
    room_not_found: 'room not found',
    message_not_found: 'message not found in this room',
    invalid_content: 'content must be 1-4000 characters',
    invalid_frame: 'the database refused this frame',
    unavailable: 'the message could not be stored, retry with the same client_id',
  };
  const BUSY_MESSAGE = 'server busy: the message was not stored, retry with the same client_id';
  const resultError = (result: SendResult, clientId?: string) => {
    if (!result.ok && result.busy) return errorFrame(result.code, BUSY_MESSAGE, clientId);
    const code = result.ok ? 'internal' : result.code;
    return errorFrame(code, RESULT_MESSAGES[code] ?? 'request failed', clientId);
  };

  function handle(ws: RoomSocket, frame: ClientFrame): void {
    const { userId, roomId, id } = ws.getUserData();
    switch (frame.type) {
      case 'message': {
        if (!messageLimit.take(userId)) {
          answer(ws, errorFrame('rate_limited', `at most ${MESSAGES_PER_SECOND} messages per second`, frame.client_id));
          return;
        }
        answer(
          ws,
          deps.batcher
            .submit({
              kind: 'message',
              room: roomId,
              user: userId,
              origin: `${deps.gatewayId}:${id}`,
              content: frame.content,
              client_id: frame.client_id,
            })
            .then((result) => {
              if (!result.ok) return resultError(result, frame.client_id);
              // at once, not when the ack goes out: a refill waiting on the batcher reads it next
              ws.getUserData().ackedSeqs.add(result.seq!);
              return { type: 'message_ack', id: result.id, seq: result.seq, client_id: frame.client_id ?? null, sent_at: result.sent_at };
            }),
        );
        return;
      }
      case 'typing':
        // beyond 2 per second typing is only a repeat of what the partner already sees
        if (typingLimit.take(`${userId}:${roomId}`)) {
          // a typing refused because the server is busy is dropped: the next keystroke repeats it
          answer(
            ws,
            deps.batcher
              .submit({ kind: 'typing', room: roomId, user: userId })
              .then((result) => (result.ok || result.busy ? undefined : resultError(result))),
          );
        }
        return;
      case 'read':
        if (!readLimit.take(userId)) {
          answer(ws, errorFrame('rate_limited', `at most ${MESSAGES_PER_SECOND} reads per second`));
          return;
        }
        answer(
          ws,
          deps.batcher
            .submit({ kind: 'read', room: roomId, user: userId, message_id: frame.id })
            .then((result) => (result.ok ? undefined : resultError(result))),
        );
        return;
    }
  }

  function onFrame(ws: RoomSocket, raw: ArrayBuffer): void {
    try {
      const frame = parseClientFrame(raw);
      framesReceived.inc({ socket: 'room', type: frame.type });
      handle(ws, frame);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      framesReceived.inc({ socket: 'room', type: 'invalid' });
      answer(ws, errorFrame(error.code, error.message, error.clientId));
    }
  }

  app.ws<RoomSocketData>(
    '/ws/:room_id',
    socketBehavior('/ws/:room_id', {
      idleTimeout: 120,
      sendPingsAutomatically: true,
      // sendFrame closes a socket at 1 MiB; uWS must never drop frames silently before that
      maxBackpressure: 4 * MAX_BUFFERED_BYTES,
      upgrade: upgradeHandler(deps.checkToken, deps.cors, 1, authorize, {
        trustProxy: deps.trustProxy,
        inFlight: deps.inFlight,
        abandoned: (data) => data.slot.release(),
      }),
      open: (ws) => {
        socketsOpen.inc({ socket: 'room' });
        // upgraded while the server began shutting down: nothing may start on the database now
        if (deps.hub.isStopped) return closeSocket(ws, 1001, 'server shutting down');
        // signed out (or deleted) while this handshake was on its way: the event found no socket to close
        const { userId, issuedAt } = ws.getUserData();
        if (deps.authStates.isKnownRevoked(userId, issuedAt)) return closeSocket(ws, SIGNED_OUT_CODE, SIGNED_OUT_REASON);
        deps.hub.joinRoom(ws, () => {
          const data = ws.getUserData();
          data.waitingBytes = 0;
          for (const frame of data.waitingFrames.splice(0)) onFrame(ws, frame);
        });
      },
      message: (ws, message) => {
        const data = ws.getUserData();
        // frames sent while the socket is still catching up wait, in order, until it has joined
        if (data.joined) {
          onFrame(ws, message);
        } else if (data.waitingFrames.length < MAX_WAITING_FRAMES && data.waitingBytes + message.byteLength <= MAX_WAITING_BYTES) {
          data.waitingFrames.push(message.slice(0));
          data.waitingBytes += message.byteLength;
        } else {
          closeSocket(ws, 1008, 'too many frames before the room was joined');
        }
      },
      drain: () => {},
      close: (ws, code) => {
        socketsOpen.dec({ socket: 'room' });
        const data = ws.getUserData();
        data.log?.access(`socket closed ${code}`, { code });
        data.closed = true;
        data.slot.release();
        data.waitingFrames.length = 0;
        deps.hub.leaveRoom(ws);
      },
    }),
  );
}
