import type pg from 'pg';
import { UUID } from '../auth/tokens.js';
import { HttpError } from '../http/errors.js';
import type { Router } from '../http/route.js';
import { bodyValidator } from '../http/validate.js';
import { roomEvents } from '../metrics.js';
import { renameBody } from '../schemas/requests.js';
import { pathId } from './params.js';

const validateRename = bodyValidator(renameBody, { message: 'name is required (1-64 chars)', code: 'invalid_name' });

const roomId = (value: string | undefined) => pathId(value, 'room not found', 'room_not_found');

/** ?limit=1..500 (default 200), ?before=<message id>, ?after_seq=<n>. */
function historyQuery(query: URLSearchParams) {
  const invalid = (field: string, message: string) => new HttpError(400, `${field} ${message}`, 'invalid_request', [{ field, message }]);
  const limitText = query.get('limit');
  const limit = limitText === null ? 200 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalid('limit', 'must be an integer from 1 to 500');
  const before = query.get('before');
  if (before !== null && !UUID.test(before)) throw invalid('before', 'must be a message id');
  const afterText = query.get('after_seq');
  const afterSeq = afterText === null ? null : Number(afterText);
  if (afterSeq !== null && (!/^\d+$/.test(afterText!) || !Number.isSafeInteger(afterSeq))) {
    throw invalid('after_seq', 'must be a non-negative integer');
  }
  return { limit, before, afterSeq };
}

export function roomRoutes(router: Router, db: pg.Pool): void {
  router.route(
    'get',
    '/rooms/me',
    async ({ userId }) => {
      const { rows } = await db.query('select api.my_rooms($1) as rooms', [userId]);
      return { status: 200, body: rows[0].rooms };
    },
    { auth: true },
  );

  router.route(
    'get',
    '/rooms/:room_id',
    async ({ params, userId }) => {
      const { rows } = await db.query('select api.room($1, $2) as room', [userId, roomId(params[0])]);
      return { status: 200, body: rows[0].room };
    },
    { auth: true },
  );

  router.route(
    'get',
    '/rooms/:room_id/messages',
    async ({ params, query, userId }) => {
      const id = roomId(params[0]);
      const { limit, before, afterSeq } = historyQuery(query);
      const { rows } = await db.query<{ page: { messages: unknown[]; has_more: boolean } }>(
        'select api.room_messages($1, $2, $3, $4, $5) as page',
        [userId, id, limit, before, afterSeq],
      );
      const page = rows[0]!.page;
      return { status: 200, body: page.messages, headers: { 'x-has-more': String(page.has_more) } };
    },
    { auth: true },
  );

  router.route(
    'patch',
    '/rooms/:room_id/name',
    async ({ params, body, userId }) => {
      const id = roomId(params[0]);
      const { name } = validateRename(body);
      const { rows } = await db.query('select api.rename_room($1, $2, $3) as room', [userId, id, name]);
      return { status: 200, body: { message: 'room renamed', room: rows[0].room } };
    },
    { auth: true },
  );

  router.route(
    'del',
    '/rooms/:room_id',
    async ({ params, userId }) => {
      await db.query('select api.close_room($1, $2)', [userId, roomId(params[0])]);
      roomEvents.inc({ event: 'closed' });
      return { status: 200, body: { message: 'room deleted' } };
    },
    { auth: true },
  );
}
