import pgListen from 'pg-listen';
import { guard } from './guard.js';
import { log } from './log.js';
import type { Envelope, MessagesEnvelope } from './realtime/hub.js';

export const CHANNEL = 'chat_events';

export interface Listener {
  stop(): Promise<void>;
}

/**
 * The one LISTEN connection of this process. Events go to `onEvent`; when the connection was lost
 * and is back, `onReconnected` re-reads what may have been missed (NOTIFY is only a doorbell).
 * Reconnects forever, with exponential backoff (max 5 s) and jitter.
 */
export async function startListener(
  databaseUrl: string,
  onEvent: (event: Envelope | MessagesEnvelope) => void,
  onReconnected: () => void,
): Promise<Listener> {
  // CommonJS module: under NodeNext the function is its `default` export
  const subscriber = pgListen.default<{ [CHANNEL]: Envelope | MessagesEnvelope }>(
    { connectionString: databaseUrl },
    {
      retryLimit: Infinity,
      retryTimeout: 0,
      retryInterval: (attempt) => Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2),
      paranoidChecking: 10_000,
    },
  );
  let connected = false;
  subscriber.notifications.on(CHANNEL, guard('relaying an event', onEvent));
  subscriber.events.on('error', (error) => log.warn(`listener: ${error.message}`));
  subscriber.events.on('reconnect', (attempt) => {
    if (attempt === 1) log.warn('listener: connection lost, reconnecting');
  });
  subscriber.events.on('connected', guard('listener catch-up', () => {
    if (!connected) return;
    log.info('listener: reconnected, catching up from the tables');
    onReconnected();
  }));
  await subscriber.connect();
  await subscriber.listenTo(CHANNEL);
  connected = true;
  return { stop: () => subscriber.close() };
}
