import type pg from 'pg';
import type { Router } from '../http/route.js';
import { bodyValidator } from '../http/validate.js';
import { countPoolJoin, roomEvents } from '../metrics.js';
import { joinBody } from '../schemas/requests.js';
import { PoolJoiner, type MatchedRoom } from '../pool-joiner.js';

const validateJoin = bodyValidator(joinBody);

/** Matching lives in api.join_pool(_batch); the route only translates its answer to the contract. */
export function poolRoutes(
  router: Router,
  db: pg.Pool,
  roomTtlMs: number,
  poolQueueMax: number,
  onRoomCreated: (room: MatchedRoom) => void,
): void {
  const joiner = new PoolJoiner(db, roomTtlMs, poolQueueMax);
  router.route(
    'post',
    '/pool/join',
    async ({ body, userId }) => {
      const input = body === undefined ? {} : validateJoin(body);
      const { matched, room } = await countPoolJoin(joiner.join(userId, input.same_country ?? false));
      if (!matched || !room) return { status: 202, body: { message: 'waiting for a match' } };
      roomEvents.inc({ event: 'opened' });
      onRoomCreated(room);
      return { status: 201, body: { room_id: room.id, room } };
    },
    { auth: true },
  );

  router.route(
    'post',
    '/pool/leave',
    async ({ userId }) => {
      await db.query('select api.leave_pool($1)', [userId]);
      return { status: 200, body: { message: 'left the pool' } };
    },
    { auth: true },
  );
}
