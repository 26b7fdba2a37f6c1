import PgBoss from 'pg-boss';
import pg from 'pg';
import { log } from './log.js';
import { roomEvents } from './metrics.js';

const EXPIRE_QUEUE = 'room-expiry';
const SWEEP_QUEUE = 'room-expiry-sweep';
const SETUP_LOCK = 4_242_002;

export interface Expiry {
  /** Schedules the expiry of a room just created. */
  schedule(room: { id: string; expires_at: string }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Room expiry with pg-boss, in its own schema of the same database.
 *
 * One job per room: a `short` queue with singletonKey = room id holds at most one waiting job per
 * room, started at expires_at. pg-boss keeps future jobs as rows indexed by start time and a
 * worker polling every second picks a due one within about a second, so both users hear of the
 * expiry well within the 5-second bound; jobs survive restarts, so a server that was down
 * catches up as soon as it polls again. Every process runs workers; api.expire_room lets only
 * the first caller close a room, so a room is never expired (or announced) twice.
 *
 * A safety net covers what no job may cover (a process that died between creating a room and
 * scheduling its job): api.expire_due_rooms() at start-up and once a minute from a cron job,
 * which also sweeps dead pool entries.
 */
export async function startExpiry(ownerUrl: string, db: pg.Pool): Promise<Expiry> {
  const boss = new PgBoss({ connectionString: ownerUrl, schema: 'pgboss', max: 3, application_name: 'chat-expiry' });
  let stopping = false;
  boss.on('error', (error) => {
    if (!stopping) log.warn(`pg-boss: ${error.message}`);
  });
  // pg-boss's queue creation deadlocks when several processes start at once: one at a time
  const lock = new pg.Client({ connectionString: ownerUrl, application_name: 'chat-expiry' });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [SETUP_LOCK]);
    await boss.start();
    await boss.createQueue(EXPIRE_QUEUE, { name: EXPIRE_QUEUE, policy: 'short' });
    await boss.createQueue(SWEEP_QUEUE, { name: SWEEP_QUEUE, policy: 'singleton' });
    await boss.schedule(SWEEP_QUEUE, '* * * * *');
  } finally {
    await lock.end(); // releases the lock
  }

  const sweep = async () => {
    const { rows } = await db.query<{ count: number }>('select api.expire_due_rooms() as count');
    await db.query('select api.sweep()');
    roomEvents.inc({ event: 'expired' }, rows[0]!.count);
    if (rows[0]!.count > 0) log.info(`expired ${rows[0]!.count} overdue room(s)`);
  };
  await sweep();

  await boss.work<{ room_id: string }>(EXPIRE_QUEUE, { pollingIntervalSeconds: 1, batchSize: 50 }, async (jobs) => {
    for (const job of jobs) {
      const { rows } = await db.query<{ expired: boolean }>('select api.expire_room($1) as expired', [job.data.room_id]);
      if (rows[0]!.expired) roomEvents.inc({ event: 'expired' });
    }
  });
  await boss.work(SWEEP_QUEUE, { pollingIntervalSeconds: 5 }, sweep);

  // Sends not yet answered. pg-boss's pool, once ended, neither serves nor fails the queries still
  // queued for one of its connections; a worker whose fetch is queued behind them then never
  // stops, and its loop keeps the process alive for good. So stop() lets them finish first.
  const sending = new Set<Promise<unknown>>();

  return {
    async schedule(room) {
      if (stopping) throw new Error('room expiry is stopping');
      const sent = boss.send(
        EXPIRE_QUEUE,
        { room_id: room.id },
        {
          // expires_at is written to the millisecond, rounded down: start just after the real instant
          startAfter: new Date(Date.parse(room.expires_at) + 1),
          singletonKey: room.id,
          retryLimit: 10,
          retryDelay: 1,
        },
      );
      sending.add(sent);
      try {
        await sent;
      } finally {
        sending.delete(sent);
      }
    },
    async stop() {
      stopping = true;
      await Promise.allSettled(sending);
      await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
    },
  };
}
