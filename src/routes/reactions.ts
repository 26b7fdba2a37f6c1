import type pg from 'pg';
import type { Router } from '../http/route.js';
import { bodyValidator } from '../http/validate.js';
import { reactionBody } from '../schemas/requests.js';
import { pathId } from './params.js';

const validateReaction = bodyValidator(reactionBody, { message: 'emoji is required', code: 'invalid_emoji' });

const messageId = (value: string | undefined) => pathId(value, 'message not found', 'message_not_found');

/** One reaction per user per message; the rules (membership, open room, length) are in SQL. */
export function reactionRoutes(router: Router, db: pg.Pool): void {
  router.route(
    'post',
    '/messages/:message_id/reactions',
    async ({ params, body, userId }) => {
      const id = messageId(params[0]);
      const { emoji } = validateReaction(body);
      await db.query('select api.react($1, $2, $3)', [userId, id, emoji]);
      return { status: 200, body: { message: 'reaction saved' } };
    },
    { auth: true },
  );

  router.route(
    'del',
    '/messages/:message_id/reactions',
    async ({ params, userId }) => {
      await db.query('select api.unreact($1, $2)', [userId, messageId(params[0])]);
      return { status: 200, body: { message: 'reaction removed' } };
    },
    { auth: true },
  );
}
