import type { HttpResponse } from 'uWebSockets.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  410: '410 Gone',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export interface Reply {
  status: number;
  /** JSON-encoded, unless `contentType` says the body is already text or bytes of that type. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * Writes a whole JSON response in one corked write. The response must not be aborted.
 * `withoutBody` answers a HEAD request: the same status and headers, and the Content-Length the
 * body would have, but no body.
 */
export function send(res: HttpResponse, reply: Reply, options: { withoutBody?: boolean } = {}): void {
  // a body with its own content type (the docs pages) is already text or bytes
  const body = reply.body === undefined ? undefined : reply.contentType ? (reply.body as string | Buffer) : JSON.stringify(reply.body);
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[reply.status] ?? String(reply.status));
    if (body !== undefined) res.writeHeader('content-type', reply.contentType ?? 'application/json; charset=utf-8');
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.writeHeader(name, value);
    if (options.withoutBody) {
      // endWithoutBody(length) of uWS 20.30 leaves the response pending for ever (it waits for
      // those bytes): the header is written here and the response ended as one without a length
      res.writeHeader(
        'content-length',
        String(body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
      );
      res.endWithoutBody();
    } else {
      res.end(body);
    }
  });
}

export function errorBody(message: string, code: string, details?: unknown[]) {
  return details ? { error: message, code, details } : { error: message, code };
}
