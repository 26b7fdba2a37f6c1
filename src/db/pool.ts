import pg from 'pg';

/** How the request path's connections show in pg_stat_activity (the listener is chat-listener, pg-boss chat-expiry). */
export const GATEWAY_APPLICATION_NAME = 'chat-gateway';

/**
 * The gateway's connection pool, logged in as chat_authenticator (src/db/roles.ts). Every
 * connection starts as the chat_gateway role, which may only execute api.* functions: the tables
 * are out of reach of anything written in TypeScript. Setting the role in the start-up packet fails
 * closed, and makes chat_gateway the role RESET ROLE returns to.
 */
export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    options: '-c role=chat_gateway',
    application_name: GATEWAY_APPLICATION_NAME,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}
