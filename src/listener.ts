import pg from 'pg';
import { describeTransient, isTransientDatabaseError } from './db/transient.js';
import { guard } from './guard.js';
import { log } from './log.js';
import { listenerEvents, listenerReconnects } from './metrics.js';

export const CHANNEL = 'chat_events';
/** How the listener's connection shows in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'chat-listener';

/**
 * Between two connection attempts: short and fixed (plus a little jitter, so the processes of a
 * fleet do not knock in step), because the pool reconnects at the very next query, and acks
 * flowing again while deliveries wait on a backoff leaves partners blind.
 */
const RETRY_MS = 100;
const RETRY_JITTER_MS = 50;
/** A connection that silently died (no RST: a cut network) is noticed by this check. */
const CHECK_EVERY_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

export interface Listener {
  stop(): Promise<void>;
}

/**
 * The one LISTEN connection of this process. Events go to `onEvent`; when the connection was lost
 * and is back (LISTEN issued again), `onReconnected` re-reads what may have been missed: NOTIFY is
 * only a doorbell. Reconnects forever. A connection only counts once its LISTEN succeeded: one
 * whose LISTEN failed (the database was still starting up) is dropped and tried again.
 */
export async function startListener(databaseUrl: string, onEvent: (event: unknown) => void, onReconnected: () => void): Promise<Listener> {
  let client: pg.Client | undefined;
  let checkTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let wakeRetry: (() => void) | undefined;

  const relayEvent = guard('relaying an event', (event: unknown) => {
    const type = (event as { type?: unknown } | null)?.type;
    listenerEvents.inc({ type: typeof type === 'string' ? type : 'malformed' });
    onEvent(event);
  });
  const catchUp = guard('listener catch-up', onReconnected);
  const relay = guard('relaying an event', (message: pg.Notification) => {
    if (message.channel === CHANNEL && message.payload) relayEvent(JSON.parse(message.payload));
  });

  /** One connection with its LISTEN done; rejects (and cleans up) otherwise. */
  const open = async (): Promise<pg.Client> => {
    const next = new pg.Client({
      connectionString: databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    next.on('error', () => {}); // 'end' follows; the loop below handles it
    try {
      await next.connect();
      next.on('notification', relay);
      await next.query(`listen ${CHANNEL}`);
      return next;
    } catch (error) {
      next.removeAllListeners('notification');
      await next.end().catch(() => {});
      throw error;
    }
  };

  const pause = () =>
    new Promise<void>((resolve) => {
      wakeRetry = resolve;
      retryTimer = setTimeout(resolve, RETRY_MS + Math.random() * RETRY_JITTER_MS);
    });

  /** Called once per lost connection: tries again until a LISTEN succeeds (or stop()). */
  const reconnect = async (reason: string) => {
    log.warn(`listener: connection lost (${reason}), reconnecting`);
    const started = Date.now();
    let lastFailure = '';
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const next = await open();
        if (stopped) {
          await next.end().catch(() => {});
          return;
        }
        watch(next);
        listenerReconnects.inc();
        log.info(`listener: reconnected after ${attempt} attempt(s), ${Date.now() - started} ms; catching up from the tables`);
        catchUp();
        return;
      } catch (error) {
        // the same failure again and again while the database restarts: said once
        const failure = describeTransient(error);
        if (failure !== lastFailure) {
          if (isTransientDatabaseError(error)) log.warn(`listener: reconnect attempt failed: ${failure}`);
          else log.error('listener: reconnect attempt failed', error);
          lastFailure = failure;
        }
      }
      await pause();
    }
  };

  const watch = (current: pg.Client) => {
    client = current;
    let lost = false;
    const onLost = (reason: string) => {
      if (lost || stopped) return;
      lost = true;
      clearInterval(checkTimer);
      current.removeAllListeners('notification');
      current.end().catch(() => {});
      if (client === current) client = undefined;
      void reconnect(reason);
    };
    current.on('error', (error) => onLost(describeTransient(error)));
    current.on('end', () => onLost('connection ended'));
    checkTimer = setInterval(() => {
      current.query('select 1').catch((error) => onLost(`check failed: ${describeTransient(error)}`));
    }, CHECK_EVERY_MS);
  };

  watch(await open());

  return {
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(checkTimer);
      wakeRetry?.();
      const current = client;
      client = undefined;
      if (current) {
        current.removeAllListeners();
        current.on('error', () => {});
        await current.end();
      }
    },
  };
}
