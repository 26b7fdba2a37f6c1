import { unauthorized } from '../http/errors.js';
import type { Tokens } from './tokens.js';

/** The bearer check of every protected route: the user id, or the contract's 401s. */
export function createAuthenticate(tokens: Tokens) {
  return async (authorization: string): Promise<string> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!authorization || !match) throw unauthorized('missing authorization');
    try {
      return await tokens.verify(match[1]!);
    } catch {
      throw unauthorized('invalid or expired token');
    }
  };
}
