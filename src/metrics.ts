import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { mapDatabaseError } from './db/errors.js';

/**
 * Every metric of the process, by name, in one registry (served at /metrics in Prometheus text
 * format). Instrumentation is one line at the place where the thing happens; what the database
 * or the connection pool knows is read when Prometheus scrapes, from the `sources` registered
 * by each running gateway (one in production; tests may run several in one process).
 * See docs/deploy.md for what each one is for and the alerts worth setting on them.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry }); // process CPU, memory, handles, GC, event-loop lag

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the scrape reads from a running gateway: its connection pool. */
export interface MetricsSource {
  db: pg.Pool;
}
const sources = new Set<MetricsSource>();

/** Registers a gateway's pool for the scrape-time gauges; returns the unregistration. */
export function addMetricsSource(source: MetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

export const httpRequests = new Counter({
  name: 'chat_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'chat_http_request_duration_seconds',
  help: 'Time from a request to its answer, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: SECONDS,
  registers: [registry],
});

/** One line for the router: a request was answered. */
export function observeRequest(method: string, route: string, status: number, startedMs: number): void {
  const labels = { method, route, status: String(status) };
  httpRequests.inc(labels);
  httpDuration.observe(labels, (performance.now() - startedMs) / 1000);
}

export const socketHandshakes = new Counter({
  name: 'chat_ws_handshakes_total',
  help: 'WebSocket handshakes, by socket (room, notifications) and status (101 accepted, else the refusal)',
  labelNames: ['socket', 'status'] as const,
  registers: [registry],
});

export const socketsOpen = new Gauge({
  name: 'chat_ws_open_sockets',
  help: 'WebSockets open now, by socket (room, notifications)',
  labelNames: ['socket'] as const,
  registers: [registry],
});

export const framesReceived = new Counter({
  name: 'chat_ws_frames_received_total',
  help: 'Frames received from clients, by socket and type (invalid: refused before it had a type)',
  labelNames: ['socket', 'type'] as const,
  registers: [registry],
});

export const framesSent = new Counter({
  name: 'chat_ws_frames_sent_total',
  help: 'Frames sent to clients, by type (message_ack counts the acks, error the refusals)',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const frameErrors = new Counter({
  name: 'chat_ws_errors_total',
  help: 'Error frames sent to room sockets, by code',
  labelNames: ['code'] as const,
  registers: [registry],
});

/** A frame is a JSON object whose first key is its type: read it without parsing the frame. */
export function countFrameSent(frame: string): void {
  framesSent.inc({ type: /^\{"type":"(\w{1,32})"/.exec(frame)?.[1] ?? 'other' });
}

export const sendBatchSize = new Histogram({
  name: 'chat_send_batch_size',
  help: 'Events per api.post_events transaction',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  registers: [registry],
});

export const sendBatchSeconds = new Histogram({
  name: 'chat_send_batch_commit_seconds',
  help: 'Time of one api.post_events call, commit included',
  buckets: SECONDS,
  registers: [registry],
});

export const sendResults = new Counter({
  name: 'chat_send_events_total',
  help: 'Events of the send path, by kind (message, typing, read) and result (ok, or the error code)',
  labelNames: ['kind', 'result'] as const,
  registers: [registry],
});

export const listenerReconnects = new Counter({
  name: 'chat_listener_reconnects_total',
  help: 'Times the LISTEN connection came back after it was lost',
  registers: [registry],
});

export const listenerEvents = new Counter({
  name: 'chat_listener_events_total',
  help: 'NOTIFY envelopes received, by type',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const notificationLag = new Histogram({
  name: 'chat_notification_lag_seconds',
  help: 'From a message being stored (its sent_at, the start of the sending transaction) to its event reaching this process',
  buckets: SECONDS,
  registers: [registry],
});

/** One line for the hub: a stored message's event arrived. */
export function observeNotificationLag(sentAt: string): void {
  const lag = (Date.now() - Date.parse(sentAt)) / 1000;
  if (Number.isFinite(lag)) notificationLag.observe(Math.max(0, lag));
}

export const poolJoins = new Counter({
  name: 'chat_pool_joins_total',
  help: 'POST /pool/join by result: waiting, matched (a room was opened), or the error code',
  labelNames: ['result'] as const,
  registers: [registry],
});

/** One line for the pool route: counts a join by its result, a refused one by its error code. */
export function countPoolJoin<T extends { matched: boolean }>(join: Promise<T>): Promise<T> {
  return join.then(
    (result) => {
      poolJoins.inc({ result: result.matched ? 'matched' : 'waiting' });
      return result;
    },
    (error) => {
      poolJoins.inc({ result: mapDatabaseError(error)?.code ?? 'error' });
      throw error;
    },
  );
}

export const roomEvents = new Counter({
  name: 'chat_rooms_total',
  help: 'Rooms opened (matched), closed (by a member) and expired, counted by the process that did it',
  labelNames: ['event'] as const,
  registers: [registry],
});

/** A gauge kept by the database, read on each scrape through api.metrics_gauges(). */
function databaseGauge(name: string, help: string, field: 'waiting_users' | 'notify_queue_usage'): void {
  new Gauge({
    name,
    help: `${help} (NaN when the database did not answer)`,
    registers: [registry],
    async collect() {
      const source = sources.values().next().value;
      if (!source) return;
      try {
        const { rows } = await source.db.query('select api.metrics_gauges() as gauges');
        this.set(Number(rows[0].gauges[field]));
      } catch {
        this.set(Number.NaN); // rather than a stale value: the pool gauges tell why
      }
    },
  });
}
databaseGauge('chat_pool_waiting_users', 'Users waiting in the matching pool (all processes)', 'waiting_users');
databaseGauge(
  'chat_notify_queue_usage_ratio',
  "Fraction of PostgreSQL's NOTIFY queue in use (0-1); at 1 every notifying commit fails",
  'notify_queue_usage',
);

new Gauge({
  name: 'chat_db_pool_connections',
  help: 'Database connections of the gateway pool, by state (in_use, idle)',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    let total = 0;
    let idle = 0;
    for (const { db } of sources) {
      total += db.totalCount;
      idle += db.idleCount;
    }
    this.set({ state: 'in_use' }, total - idle);
    this.set({ state: 'idle' }, idle);
  },
});

new Gauge({
  name: 'chat_db_pool_waiting_queries',
  help: 'Queries waiting for a free connection of the gateway pool',
  registers: [registry],
  collect() {
    let waiting = 0;
    for (const { db } of sources) waiting += db.waitingCount;
    this.set(waiting);
  },
});

/** The scrape: every metric in Prometheus text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
