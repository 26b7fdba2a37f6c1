import type { WebSocket } from 'uWebSockets.js';
import { closeSocket, SIGNED_OUT_CODE, SIGNED_OUT_REASON } from '../realtime/sockets.js';
import type { UserEvent } from '../realtime/envelope-schema.js';
import { accepts, type AuthStates } from './auth-states.js';

/**
 * Events about a user rather than a room (db/functions/internal/090_safety.sql, notify_user):
 * user.revoked after a sign-out everywhere or a password change, user.deleted after an account
 * deletion. Their schema is with every other envelope's (src/realtime/envelope-schema.ts).
 */
export type UserEnvelope = UserEvent;

export function isUserEnvelope(event: unknown): event is UserEnvelope {
  const e = event as Partial<UserEnvelope> | null;
  return typeof e === 'object' && e !== null && (e.type === 'user.revoked' || e.type === 'user.deleted') && typeof e.user === 'string';
}

type UserSocket = WebSocket<{ userId: string; issuedAt: number; closed: boolean }>;

/**
 * Applies a user event in this process: the token cache learns the new rule at once (so the next
 * request or handshake with an older token is a 401), and every local socket of the user opened
 * with a token the rule now refuses is closed (4401).
 */
export function applyUserEvent(event: UserEnvelope, states: AuthStates, sockets: () => UserSocket[]): void {
  if (event.type === 'user.deleted') states.deleted(event.user);
  else states.revoked(event.user, Number(event.valid_from));
  for (const ws of sockets()) {
    const { userId, issuedAt } = ws.getUserData();
    if (userId === event.user && states.isKnownRevoked(userId, issuedAt)) closeSocket(ws, SIGNED_OUT_CODE, SIGNED_OUT_REASON);
  }
}

/**
 * After the listener reconnected, user events may have been missed: the cache is emptied and
 * every open socket is checked again against the database's rule (one query per user, not per
 * socket). A socket whose token was revoked meanwhile is closed (4401).
 */
export async function recheckSockets(states: AuthStates, sockets: () => UserSocket[]): Promise<void> {
  states.reset();
  const byUser = new Map<string, UserSocket[]>();
  for (const ws of sockets()) {
    const userId = ws.getUserData().userId;
    byUser.set(userId, [...(byUser.get(userId) ?? []), ws]);
  }
  for (const [userId, userSockets] of byUser) {
    const state = await states.get(userId);
    for (const ws of userSockets) if (!accepts(state, ws.getUserData().issuedAt)) closeSocket(ws, SIGNED_OUT_CODE, SIGNED_OUT_REASON);
  }
}
