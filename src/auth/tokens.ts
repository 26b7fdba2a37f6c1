import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'ephemeral-chat';
const AUDIENCE = 'ephemeral-chat-clients';
/** The issued lifetime, and so the oldest `iat` accepted (a token without `exp` still dies). */
export const TOKEN_LIFETIME_SECONDS = 72 * 3600;
/** How far clocks of gateways (and a fresh token's iat, see issue) may run ahead. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Who a valid token speaks for, and when it was issued (whole seconds, the JWT `iat`). */
export interface Identity {
  userId: string;
  issuedAt: number;
}

export interface Tokens {
  /**
   * A token for the user. `notBefore` (epoch seconds) raises its iat to the user's revocation
   * instant when that is still ahead (a sign-out in this same second): see api.auth_state.
   */
  issue(userId: string, notBefore?: number): Promise<string>;
  /** The identity of a valid token; throws on anything else. */
  verify(token: string): Promise<Identity>;
}

/**
 * HS256 JWTs. Verification pins the algorithm, checks issuer and audience, requires `exp`, `iat`
 * and a UUID `sub`, refuses an `iat` in the future (beyond the clock tolerance) and a token older
 * than the issued lifetime whatever its `exp` says.
 */
export function createTokens(secret: Uint8Array): Tokens {
  return {
    issue: (userId, notBefore = 0) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuedAt(Math.max(Math.floor(Date.now() / 1000), notBefore))
        .setExpirationTime(Math.max(Math.floor(Date.now() / 1000), notBefore) + TOKEN_LIFETIME_SECONDS)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .sign(secret),
    async verify(token) {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: TOKEN_LIFETIME_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new Error('token has no user');
      return { userId: payload.sub.toLowerCase(), issuedAt: payload.iat! };
    },
  };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
