/**
 * The one map from SQLSTATE to HTTP. Custom codes are raised by db/functions/ and listed in
 * docs/error-codes.md; the function's message text is the contract's `error` string.
 */
export interface MappedError {
  status: number;
  code: string;
}

export const SQLSTATE_TO_HTTP: Record<string, MappedError> = {
  CVINV: { status: 400, code: 'invalid_request' },
  CVNAM: { status: 400, code: 'invalid_name' },
  CVEMO: { status: 400, code: 'invalid_emoji' },
  CUDUP: { status: 409, code: 'already_taken' },
  CUNFD: { status: 401, code: 'invalid_token' },
  CALIM: { status: 429, code: 'rate_limited' },
  CPDUP: { status: 409, code: 'already_in_pool' },
  CPNIP: { status: 404, code: 'not_in_pool' },
  CRNFD: { status: 404, code: 'room_not_found' },
  CRCLO: { status: 410, code: 'room_closed' },
  CREXP: { status: 410, code: 'room_expired' },
  CMNFD: { status: 404, code: 'message_not_found' },
  CRXNF: { status: 404, code: 'reaction_not_found' },
  CPSUS: { status: 409, code: 'suspended' },
  CBNFD: { status: 404, code: 'block_not_found' },
  CRDUP: { status: 409, code: 'already_reported' },
  // PostgreSQL's own input errors, a backstop behind the gateway's validation
  '22021': { status: 400, code: 'invalid_request' }, // invalid byte sequence (NUL)
  '22P05': { status: 400, code: 'invalid_request' }, // untranslatable character
  '22P02': { status: 400, code: 'invalid_request' }, // invalid text representation
};

/** A PostgreSQL error raised on purpose by our functions, mapped for the client. */
export function mapDatabaseError(
  error: unknown,
): (MappedError & { message: string; detail?: string; details?: Array<{ field: string; message: string }> }) | undefined {
  const e = error as { code?: unknown; message?: unknown; detail?: unknown; column?: unknown };
  if (typeof e?.code !== 'string') return undefined;
  const mapped = SQLSTATE_TO_HTTP[e.code];
  if (!mapped) return undefined;
  // our own codes carry the contract's message; PostgreSQL's own texts never reach a client
  const message = /^[0-9]/.test(e.code) ? 'invalid request' : String(e.message);
  return {
    ...mapped,
    message: typeof e.column === 'string' ? `${e.column} ${message}` : message,
    detail: typeof e.detail === 'string' ? e.detail : undefined,
    // a function names the offending input with `using column = '...'`
    details: typeof e.column === 'string' ? [{ field: e.column, message }] : undefined,
  };
}
