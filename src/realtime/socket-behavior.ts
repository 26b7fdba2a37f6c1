import type { WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { guard } from '../guard.js';
import { closeSocket } from './sockets.js';

/** The largest frame a client may send (the contract's limit). */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * uWS's own limit, deliberately above ours: a frame between the two gets a proper close 1009 from
 * us, which the client sees. uWS drops the TCP connection without a close frame (the client sees
 * 1006) for a frame above this, or for a text frame that is not valid UTF-8; neither can be changed
 * in uWebSockets.js 20.30. Each socket may make uWS buffer one frame of this size.
 */
export const UWS_MAX_PAYLOAD_BYTES = 128 * 1024;

/**
 * What every WebSocket route shares: uWS's payload limit, the 64 KiB frame limit (close 1009),
 * and the crash barrier around each callback. A callback that throws closes its socket with 1011
 * (the client reconnects and resumes); a failing `close` is only logged.
 */
export function socketBehavior<T extends { closed: boolean }>(path: string, behavior: WebSocketBehavior<T>): WebSocketBehavior<T> {
  const closeWith1011 = (ws: WebSocket<T>) => closeSocket(ws, 1011, 'internal error');
  const { open, message, drain, close } = behavior;
  return {
    ...behavior,
    maxPayloadLength: UWS_MAX_PAYLOAD_BYTES,
    open: open && guard(`${path} open`, open, closeWith1011),
    message: guard(
      `${path} message`,
      (ws: WebSocket<T>, frame: ArrayBuffer, isBinary: boolean) => {
        if (frame.byteLength > MAX_FRAME_BYTES) return closeSocket(ws, 1009, 'frame larger than 64 KiB');
        return message?.(ws, frame, isBinary);
      },
      closeWith1011,
    ),
    drain: drain && guard(`${path} drain`, drain, closeWith1011),
    close: close && guard(`${path} close`, close),
  };
}
