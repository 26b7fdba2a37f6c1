import { UUID } from '../auth/tokens.js';
import { notFound } from '../http/errors.js';

/** A malformed id in a path is the same 404 as an unknown one, never a 500. */
export function pathId(value: string | undefined, message: string, code: string): string {
  if (!value || !UUID.test(value)) throw notFound(message, code);
  return value.toLowerCase();
}
