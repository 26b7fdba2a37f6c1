import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'ephemeral-chat';
const AUDIENCE = 'ephemeral-chat-clients';
const LIFETIME = '72h';

export interface Tokens {
  issue(userId: string): Promise<string>;
  /** The user id of a valid token; throws on anything else. */
  verify(token: string): Promise<string>;
}

/** HS256 JWTs; verification pins the algorithm and checks issuer, audience and expiry. */
export function createTokens(secret: Uint8Array): Tokens {
  return {
    issue: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(LIFETIME)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .sign(secret),
    async verify(token) {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
      if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new Error('token has no user');
      return payload.sub;
    },
  };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
