import { createHmac } from 'node:crypto';
import type pg from 'pg';

/** The login role of the request path and the listener (db/schema/*_gateway_login_role.sql). */
export const GATEWAY_LOGIN_ROLE = 'chat_authenticator';

/**
 * Where the gateway connects: GATEWAY_DATABASE_URL when set, else the owner's URL with the login
 * role chat_authenticator and a password derived from the JWT secret (every process of a
 * deployment shares that secret, so they all derive the same password and none locks out another).
 */
export function gatewayDatabaseUrl(ownerUrl: string, configured: string | undefined, jwtSecret: Uint8Array): string {
  if (configured) return configured;
  const url = new URL(ownerUrl);
  url.username = GATEWAY_LOGIN_ROLE;
  url.password = createHmac('sha256', jwtSecret).update('chat_authenticator database password').digest('base64url');
  return url.toString();
}

/**
 * Gives the login role the password of the gateway's URL, when that URL uses it (an operator who
 * points GATEWAY_DATABASE_URL at a role of their own manages its password themselves). Run by the
 * owner, under the start-up lock, after the migrations created the role.
 */
export async function ensureGatewayLogin(owner: pg.ClientBase, gatewayUrl: string): Promise<void> {
  const url = new URL(gatewayUrl);
  if (decodeURIComponent(url.username) !== GATEWAY_LOGIN_ROLE || !url.password) return;
  const password = owner.escapeLiteral(decodeURIComponent(url.password));
  await owner.query(`alter role ${GATEWAY_LOGIN_ROLE} with login password ${password}`);
}

/**
 * Takes back what PUBLIC may do in a database by default and the gateway's roles must not:
 * temporary tables, and (before PostgreSQL 15) creating objects in schema public. Run by the owner
 * at each start: database privileges are not carried over to a database cloned from a template.
 */
export async function lockDownDatabase(owner: pg.ClientBase): Promise<void> {
  await owner.query(`
    do $$
    begin
      execute format('revoke temporary on database %I from public', current_database());
    end
    $$;
    revoke create on schema public from public;`);
}
