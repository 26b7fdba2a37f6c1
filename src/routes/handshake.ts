import { HttpError } from '../http/errors.js';

/** The headers of a WebSocket handshake that RFC 6455 §4.2.1 requires. */
export interface HandshakeHeaders {
  upgrade: string;
  connection: string;
  version: string;
  key: string;
}

/** A nonce is 16 random bytes in base64: 22 characters and "==". */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

const hasToken = (header: string, token: string) => header.split(',').some((part) => part.trim().toLowerCase() === token);

/**
 * uWebSockets.js upgrades any request that carries a Sec-WebSocket-Key, whatever its other
 * headers say (it answered 101 to version 8 and to requests without `Upgrade`). The handshake is
 * checked here, before anything else: 426 with the version we speak for another version, 400 for
 * the rest.
 */
export function handshakeError(headers: HandshakeHeaders): HttpError | undefined {
  if (headers.version !== '13') {
    return new HttpError(426, 'WebSocket version 13 is required', 'unsupported_websocket_version', undefined, {
      'sec-websocket-version': '13',
    });
  }
  if (!hasToken(headers.upgrade, 'websocket') || !hasToken(headers.connection, 'upgrade') || !KEY.test(headers.key)) {
    return new HttpError(400, 'not a valid WebSocket handshake', 'invalid_handshake');
  }
  return undefined;
}
