import type pg from 'pg';
import type { AuthStates } from '../auth/auth-states.js';
import type { Passwords } from '../auth/passwords.js';
import type { Tokens } from '../auth/tokens.js';
import { HttpError } from '../http/errors.js';
import type { Router } from '../http/route.js';
import { bodyValidator } from '../http/validate.js';
import { changePasswordBody, deleteAccountBody } from '../schemas/requests.js';

const validateDeleteAccount = bodyValidator(deleteAccountBody);
const validateChangePassword = bodyValidator(changePasswordBody);

/**
 * The signed-in user's account: sign out everywhere, change the password, delete the account.
 * Revocation is decided in SQL (api.logout_all, api.change_password, api.delete_account) and
 * reaches every gateway as a user event (src/auth/revocations.ts); this process applies it to its
 * token cache at once, so the caller's next request here is already refused.
 */
export function accountRoutes(router: Router, db: pg.Pool, passwords: Passwords, tokens: Tokens, authStates: AuthStates): void {
  /* The password of a signed-in user, counted by api.password_check_begin (429 past 5 a quarter hour). */
  const checkPassword = async (userId: string, password: string) => {
    const { rows } = await db.query<{ hash: string }>('select api.password_check_begin($1) as hash', [userId]);
    if (!(await passwords.verify(rows[0]!.hash, password))) throw new HttpError(403, 'wrong password', 'wrong_password');
  };

  router.route(
    'post',
    '/auth/logout-all',
    async ({ userId }) => {
      const { rows } = await db.query<{ valid_from: string }>('select api.logout_all($1) as valid_from', [userId]);
      authStates.revoked(userId, Number(rows[0]!.valid_from));
      return { status: 200, body: { message: 'signed out everywhere' } };
    },
    { auth: true },
  );

  router.route(
    'post',
    '/auth/password',
    async ({ body, userId }) => {
      const input = validateChangePassword(body);
      await checkPassword(userId, input.old_password);
      const hash = await passwords.hash(input.new_password);
      const { rows } = await db.query<{ valid_from: string }>('select api.change_password($1, $2) as valid_from', [userId, hash]);
      authStates.revoked(userId, Number(rows[0]!.valid_from));
      // issued at the revocation instant: alive, while every older token (this request's too) is not
      return { status: 200, body: { token: await tokens.issue(userId, Number(rows[0]!.valid_from)) } };
    },
    { auth: true },
  );

  router.route(
    'del',
    '/auth/me',
    async ({ body, userId }) => {
      const input = validateDeleteAccount(body);
      await checkPassword(userId, input.password);
      await db.query('select api.delete_account($1)', [userId]);
      authStates.deleted(userId);
      return { status: 200, body: { message: 'account deleted' } };
    },
    { auth: true },
  );
}
