import pg from 'pg';

/**
 * The gateway's connection pool, logged in as chat_authenticator (src/db/roles.ts). Every
 * connection starts as the chat_gateway role, which may only execute api.* functions: the tables
 * are out of reach of anything written in TypeScript. Setting the role in the start-up packet fails
 * closed, and makes chat_gateway the role RESET ROLE returns to.
 */
export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000, options: '-c role=chat_gateway' });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}
