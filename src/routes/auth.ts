import type pg from 'pg';
import type { AuthStates } from '../auth/auth-states.js';
import type { Passwords } from '../auth/passwords.js';
import type { Tokens } from '../auth/tokens.js';
import { HttpError } from '../http/errors.js';
import type { Router } from '../http/route.js';
import { bodyValidator, trimFields } from '../http/validate.js';
import { loginBody, registerBody } from '../schemas/requests.js';

const validateRegister = bodyValidator(registerBody);
const validateLogin = bodyValidator(loginBody);

export function authRoutes(
  router: Router,
  db: pg.Pool,
  passwords: Passwords,
  tokens: Tokens,
  registrationsPerHour: number,
  authStates: AuthStates,
): void {
  /*
   * The hash is the expensive part and comes before the database can say the pseudo is taken:
   * the client address's registrations are counted first (429 with Retry-After past the limit).
   */
  router.route('post', '/auth/register', async ({ body, clientAddress }) => {
    const input = validateRegister(trimFields(body, ['pseudo', 'email', 'country']));
    await db.query('select api.count_registration($1, $2)', [clientAddress, registrationsPerHour]);
    const passwordHash = await passwords.hash(input.password);
    const { rows } = await db.query<{ user: Record<string, string> }>('select api.register($1, $2, $3, $4) as user', [
      input.pseudo,
      input.email,
      input.country,
      passwordHash,
    ]);
    const user = rows[0]!.user;
    return { status: 201, body: { token: await tokens.issue(user.id!), user } };
  });

  /*
   * Unknown users and wrong passwords cost the same argon2 verification and give the same 401.
   * api.login_begin counts every attempt before the hash is checked (429 with Retry-After past
   * the limit), and api.login_succeeded takes a successful one back.
   */
  router.route('post', '/auth/login', async ({ body, clientAddress }) => {
    const input = validateLogin(trimFields(body, ['identifier']));
    const { rows } = await db.query<{ user_json: Record<string, string>; password_hash: string }>(
      'select user_json, password_hash from api.login_begin($1, $2)',
      [input.identifier, clientAddress],
    );
    const found = rows[0];
    if (!(await passwords.verify(found?.password_hash, input.password))) {
      throw new HttpError(401, 'invalid credentials', 'invalid_credentials');
    }
    await db.query('select api.login_succeeded($1, $2)', [input.identifier, clientAddress]);
    const userId = found!.user_json.id!;
    // a sign-out everywhere in this same second, here or on another process, must not kill the token of a login after it
    const state = await authStates.fresh(userId);
    const token = await tokens.issue(userId, state.exists ? state.validFrom : 0);
    return { status: 200, body: { token, user: found!.user_json } };
  });
}
