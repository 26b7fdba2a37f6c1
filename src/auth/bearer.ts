import { unauthorized } from '../http/errors.js';
import { accepts, type AuthStates } from './auth-states.js';
import type { Identity, Tokens } from './tokens.js';

/**
 * A token's identity if it is valid now: signature and claims (tokens.ts), its user still exists
 * and it was issued after the user's last sign-out everywhere. Anything else is the contract's
 * 401 "invalid or expired token". Used by every protected route and both WebSocket handshakes.
 */
export function createTokenCheck(tokens: Tokens, states: AuthStates) {
  return async (token: string): Promise<Identity> => {
    let identity: Identity;
    try {
      identity = await tokens.verify(token);
    } catch {
      throw unauthorized('invalid or expired token');
    }
    if (!accepts(await states.get(identity.userId), identity.issuedAt)) throw unauthorized('invalid or expired token');
    return identity;
  };
}

export type TokenCheck = ReturnType<typeof createTokenCheck>;

/** The bearer check of every protected route: the user id, or the contract's 401s. */
export function createAuthenticate(check: TokenCheck) {
  return async (authorization: string): Promise<string> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!authorization || !match) throw unauthorized('missing authorization');
    return (await check(match[1]!)).userId;
  };
}
