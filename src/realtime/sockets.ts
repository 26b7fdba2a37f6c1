import type { WebSocket } from 'uWebSockets.js';
import type { SocketSlot } from './socket-quota.js';
import type { Log } from '../log.js';
import { countFrameSent } from '../metrics.js';

/** What the gateway keeps on every room socket (uWS userData). */
export interface RoomSocketData {
  /** Process-unique; `${gatewayId}:${id}` names this socket as the origin of a message. */
  id: number;
  userId: string;
  /** The iat of the token the socket opened with: a sign-out everywhere after it closes the socket. */
  issuedAt: number;
  roomId: string;
  /** Its place under the per-user and per-address socket limits, given back when it closes. */
  slot: SocketSlot;
  side: 'a' | 'b';
  /** Resume point asked for (?after_seq), clamped to the room's last seq at the handshake. */
  afterSeq: number | null;
  lastSeqAtHandshake: number;
  /** False until the socket has caught up and receives live messages; frames wait meanwhile. */
  joined: boolean;
  waitingFrames: ArrayBuffer[];
  /**
   * Seqs of this socket's messages that it was acked and the feed has not passed yet. A message
   * read back from the table (after the listener reconnected) carries no origin: this is how the
   * feed knows not to echo it to this socket as own_message. Emptied as the feed moves on.
   */
  ackedSeqs: Set<number>;
  waitingBytes: number;
  /** The answers (acks, errors) to this socket's frames, chained so they go out in frame order. */
  replies: Promise<void>;
  /** Frames accepted whose answer is not sent yet. */
  unanswered: number;
  closed: boolean;
  /** Set by the handshake: the connection's logger, whose lines carry its id. */
  log?: Log;
}

export interface NotificationSocketData {
  userId: string;
  /** As RoomSocketData.issuedAt. */
  issuedAt: number;
  slot: SocketSlot;
  /** The online_count this socket was last given: it is sent again only when it changed. */
  onlineCount: number;
  closed: boolean;
  /** Set by the handshake: the connection's logger, whose lines carry its id. */
  log?: Log;
}

export type RoomSocket = WebSocket<RoomSocketData>;
export type NotificationSocket = WebSocket<NotificationSocketData>;

/**
 * A socket whose token was revoked (sign out everywhere, password change) or whose account was
 * deleted: 4401 ("unauthorized", in the application range) so a client knows that reconnecting
 * with the same token is pointless.
 */
export const SIGNED_OUT_CODE = 4401;
export const SIGNED_OUT_REASON = 'signed out';

/** A client that lets 1 MiB pile up is closed (1013, "try again later": it can resume). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Sends one text frame, and closes the socket when its outgoing buffer has passed 1 MiB, so a
 * slow client never slows anybody else and never silently misses a frame: it reconnects and
 * resumes from its last seq instead.
 */
export function sendFrame(ws: WebSocket<{ closed: boolean }>, frame: string): void {
  const data = ws.getUserData();
  if (data.closed) return;
  countFrameSent(frame);
  ws.cork(() => {
    ws.send(frame);
    if (ws.getBufferedAmount() > MAX_BUFFERED_BYTES) {
      data.closed = true;
      ws.end(1013, 'too slow: reconnect and resume');
    }
  });
}

export function closeSocket(ws: WebSocket<{ closed: boolean }>, code: number, reason: string): void {
  const data = ws.getUserData();
  if (data.closed) return;
  data.closed = true;
  ws.end(code, reason);
}
