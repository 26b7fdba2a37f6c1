/**
 * CORS and the WebSocket Origin check share one allow-list (CORS_ORIGINS). Without a list there
 * are no CORS headers and any Origin may open a socket.
 */
export interface Cors {
  headersFor(origin: string): Record<string, string>;
  allowsSocketOrigin(origin: string): boolean;
  isPreflightAllowed(origin: string): boolean;
}

export function createCors(allowed: string[] | undefined): Cors {
  const list = new Set(allowed ?? []);
  return {
    headersFor(origin): Record<string, string> {
      if (!allowed || !list.has(origin)) return {};
      return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'X-Has-More, Retry-After' };
    },
    allowsSocketOrigin(origin) {
      return !allowed || origin === '' || list.has(origin);
    },
    isPreflightAllowed(origin) {
      return !!allowed && list.has(origin);
    },
  };
}
