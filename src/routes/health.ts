import type pg from 'pg';
import type { Router } from '../http/route.js';

/**
 * Liveness with the database: 200 when it answers, 503 when not. The NOTIFY queue's fill level
 * is reported too: above 10 % a listener somewhere is not keeping up.
 */
export function healthRoutes(router: Router, db: pg.Pool): void {
  router.route('get', '/health', async () => {
    try {
      const { rows } = await db.query<{ usage: number }>('select pg_notification_queue_usage() as usage');
      const usage = Number(rows[0]?.usage ?? 0);
      return { status: 200, body: usage > 0.1 ? { status: 'ok', notify_queue_usage: usage } : { status: 'ok' } };
    } catch {
      return { status: 503, body: { status: 'unavailable' } };
    }
  });
}
