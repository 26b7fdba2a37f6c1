/**
 * Failures that are expected while PostgreSQL restarts or a connection is cut: refused or reset
 * connections, "the database system is shutting down / starting up", a backend terminated by an
 * administrator, too many connections. They are worth a one-line warning (the caller retries, or
 * its client does), never a stack trace at error level.
 */
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown: terminated by an administrator, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH']);
const TRANSIENT_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|read ECONNRESET/;

export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code) || code.startsWith('08')) return true;
  }
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/** One line for a log: the code (SQLSTATE or errno) when there is one, and the message. */
export function describeTransient(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
