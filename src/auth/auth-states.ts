import type pg from 'pg';

/** What the token check knows of a user: gone, or the epoch second tokens must be issued at or after. */
export type AuthState = { exists: false } | { exists: true; validFrom: number };

/** Users whose state is kept; beyond it the oldest entries are dropped (and read again on need). */
const MAX_CACHED_USERS = 100_000;

/**
 * The gateway's cache of api.auth_state per user, so the token check costs no query per request.
 * It is filled on a miss and kept right by the user.revoked / user.deleted events every gateway
 * receives (set from the event itself: events arrive in commit order), and emptied when the
 * listener reconnects, because events may have been lost meanwhile.
 *
 * A read that was in flight while an event or a reset arrived is used for its own request but not
 * stored: it may predate the event, and the cache must never go back to an older state.
 */
export class AuthStates {
  private readonly states = new Map<string, AuthState>();
  private generation = 0;

  constructor(private readonly db: pg.Pool) {}

  async get(userId: string): Promise<AuthState> {
    const cached = this.states.get(userId);
    if (cached) return cached;
    const generation = this.generation;
    const { rows } = await this.db.query<{ valid_from: string | null }>('select api.auth_state($1) as valid_from', [userId]);
    const validFrom = rows[0]?.valid_from;
    const state: AuthState =
      validFrom === null || validFrom === undefined ? { exists: false } : { exists: true, validFrom: Number(validFrom) };
    if (generation === this.generation) this.remember(userId, state);
    return state;
  }

  /**
   * The user's state read from the database now (and remembered): what a token about to be issued
   * must follow, since this process's cache may not have heard yet of a revocation made on another.
   */
  async fresh(userId: string): Promise<AuthState> {
    this.states.delete(userId);
    return this.get(userId);
  }

  /** Whether a token of this user issued at `issuedAt` still holds, on what is known right now (no query). */
  isKnownRevoked(userId: string, issuedAt: number): boolean {
    const state = this.states.get(userId);
    return state !== undefined && !accepts(state, issuedAt);
  }

  /**
   * A user.revoked event, or the answer of a revocation made by this process (which need not wait
   * for its own event): tokens issued before `validFrom` die. The instant only moves forward, so
   * the late event of an earlier revocation changes nothing, and a deleted user stays deleted.
   */
  revoked(userId: string, validFrom: number): void {
    this.generation++;
    const known = this.states.get(userId);
    if (known && !known.exists) return;
    this.remember(userId, { exists: true, validFrom: Math.max(validFrom, known?.validFrom ?? 0) });
  }

  /** A user.deleted event, or this process's own deletion of the account. */
  deleted(userId: string): void {
    this.generation++;
    this.remember(userId, { exists: false });
  }

  /** After a listener reconnect: anything cached may be stale. */
  reset(): void {
    this.generation++;
    this.states.clear();
  }

  private remember(userId: string, state: AuthState): void {
    this.states.delete(userId);
    this.states.set(userId, state);
    if (this.states.size > MAX_CACHED_USERS) this.states.delete(this.states.keys().next().value!);
  }
}

/** The revocation rule, at JWT resolution: a token holds when its user exists and iat ≥ valid-from. */
export function accepts(state: AuthState, issuedAt: number): boolean {
  return state.exists && issuedAt >= state.validFrom;
}
