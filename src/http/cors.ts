/**
 * CORS and the WebSocket Origin check share one allow-list (CORS_ORIGINS). Without a list there
 * are no CORS headers and any Origin may open a socket. A page the server itself serves (the web
 * client at /) is same-origin: its sockets are allowed whatever the list says.
 */
export interface Cors {
  headersFor(origin: string): Record<string, string>;
  /** `host` is the request's Host header: an Origin naming the same host is the server's own page. */
  allowsSocketOrigin(origin: string, host: string): boolean;
  isPreflightAllowed(origin: string): boolean;
}

export function createCors(allowed: string[] | undefined): Cors {
  const list = new Set(allowed ?? []);
  return {
    headersFor(origin): Record<string, string> {
      if (!allowed || !list.has(origin)) return {};
      return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'X-Has-More, Retry-After' };
    },
    allowsSocketOrigin(origin, host) {
      return !allowed || origin === '' || list.has(origin) || isSameOrigin(origin, host);
    },
    isPreflightAllowed(origin) {
      return !!allowed && list.has(origin);
    },
  };
}

function isSameOrigin(origin: string, host: string): boolean {
  try {
    return host !== '' && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
