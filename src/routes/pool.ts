import type { JSONSchemaType } from 'ajv';
import type pg from 'pg';
import type { Router } from '../http/route.js';
import { bodyValidator } from '../http/validate.js';

interface JoinBody {
  same_country?: boolean;
}

// `nullable` would let {"same_country": null} through: the contract wants a boolean or nothing
const validateJoin = bodyValidator<JoinBody>({
  type: 'object',
  properties: { same_country: { type: 'boolean' } },
  additionalProperties: false,
} as unknown as JSONSchemaType<JoinBody>);

export interface MatchedRoom {
  id: string;
  expires_at: string;
}

/** Matching lives in api.join_pool; the route only translates its answer to the contract. */
export function poolRoutes(
  router: Router,
  db: pg.Pool,
  roomTtlMs: number,
  onRoomCreated: (room: MatchedRoom) => void,
): void {
  router.route('post', '/pool/join', async ({ body, userId }) => {
    const input = body === undefined ? {} : validateJoin(body);
    const { rows } = await db.query<{ result: { matched: boolean; room?: MatchedRoom } }>(
      'select api.join_pool($1, $2, make_interval(secs => $3)) as result',
      [userId, input.same_country ?? false, roomTtlMs / 1000],
    );
    const { matched, room } = rows[0]!.result;
    if (!matched || !room) return { status: 202, body: { message: 'waiting for a match' } };
    onRoomCreated(room);
    return { status: 201, body: { room_id: room.id, room } };
  }, { auth: true });

  router.route('post', '/pool/leave', async ({ userId }) => {
    await db.query('select api.leave_pool($1)', [userId]);
    return { status: 200, body: { message: 'left the pool' } };
  }, { auth: true });
}
