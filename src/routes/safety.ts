import type pg from 'pg';
import type { Router } from '../http/route.js';
import { bodyValidator, trimFields } from '../http/validate.js';
import { reportBody } from '../schemas/requests.js';
import { pathId } from './params.js';

const validateReport = bodyValidator(reportBody);

export interface SuspensionSettings {
  /** Reports from this many distinct users … */
  reportThreshold: number;
  /** … within this window … */
  reportWindowMs: number;
  /** … keep the reported account out of the pool this long. */
  suspensionMs: number;
}

const roomId = (value: string | undefined) => pathId(value, 'room not found', 'room_not_found');

/**
 * Block and report the partner of a room. The API speaks only of rooms: the caller never learns
 * who the partner is. The rules (never matched again, suspension, rate limits) live in SQL.
 */
export function safetyRoutes(router: Router, db: pg.Pool, settings: SuspensionSettings): void {
  router.route(
    'post',
    '/rooms/:room_id/block',
    async ({ params, userId }) => {
      await db.query('select api.block_room($1, $2)', [userId, roomId(params[0])]);
      return { status: 200, body: { message: 'room blocked' } };
    },
    { auth: true },
  );

  router.route(
    'del',
    '/rooms/:room_id/block',
    async ({ params, userId }) => {
      await db.query('select api.unblock_room($1, $2)', [userId, roomId(params[0])]);
      return { status: 200, body: { message: 'block removed' } };
    },
    { auth: true },
  );

  router.route(
    'get',
    '/blocks',
    async ({ userId }) => {
      const { rows } = await db.query('select api.blocks($1) as blocks', [userId]);
      return { status: 200, body: rows[0].blocks };
    },
    { auth: true },
  );

  router.route(
    'post',
    '/rooms/:room_id/report',
    async ({ params, body, userId }) => {
      const id = roomId(params[0]);
      const input = validateReport(trimFields(body, ['note']));
      await db.query(`select api.report_room($1, $2, $3, $4, $5, $6, make_interval(secs => $7), make_interval(secs => $8))`, [
        userId,
        id,
        input.reason,
        input.note ?? null,
        input.include_messages ?? false,
        settings.reportThreshold,
        settings.reportWindowMs / 1000,
        settings.suspensionMs / 1000,
      ]);
      return { status: 201, body: { message: 'report received' } };
    },
    { auth: true },
  );
}
