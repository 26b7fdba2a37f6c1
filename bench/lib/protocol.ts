/** Messages between the runner (bench/run.ts) and its load-generator processes (bench/loadgen.ts). */

export interface HttpReq {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  path: string;
  token?: string;
  body?: unknown;
}

export interface HttpRes {
  status: number; // 0 = network error
  /** latency in ms, request issued → full response read */
  ms: number;
  body?: any;
  error?: string;
}

export interface SocketSpec {
  kind: 'room' | 'notif';
  /** index of the room in the runner's room table (-1 for a notification socket not tied to a room) */
  room: number;
  member: 0 | 1;
  tab: number;
  /** index of the user in the runner's user table */
  user: number;
  roomId?: string;
  token: string;
  /** the gateway to connect to, when not the load generator's default (several gateways) */
  wsBase?: string;
}

export type Command =
  | { cmd: 'init'; httpBase: string; wsBase: string; worker: number }
  | {
      cmd: 'http';
      reqs: HttpReq[];
      concurrency: number;
      /** epoch ms: wait until then before the first request (a barrier across processes) */
      startAt?: number;
      keepBodies?: boolean;
    }
  | { cmd: 'open'; specs: SocketSpec[]; concurrency: number; startAt?: number }
  | {
      cmd: 'load';
      tag: string;
      /** messages per second offered by this process */
      rate: number;
      warmupMs: number;
      durationMs: number;
      graceMs: number;
      msgBytes: number;
    }
  | { cmd: 'events' }
  | { cmd: 'status' }
  | { cmd: 'close' }
  | { cmd: 'exit' };

export interface HttpResult {
  t0: number; // epoch ms of first request
  t1: number; // epoch ms of last response
  results: HttpRes[];
}

export interface OpenResult {
  t0: number;
  t1: number;
  opened: number;
  failed: number;
  failures: Record<string, number>;
  latencies: Float32Array;
}

export interface LoadResult {
  sent: number;
  sent_in_window: number;
  acked: number;
  errored: number;
  errors: Record<string, number>;
  delivered: number;
  delivered_in_window: number;
  dup_deliveries: number;
  dup_acks: number;
  /** acked, never delivered to the partner within the grace period */
  lost: number;
  /** acked in the last second of a grace period that ran out, not delivered yet (not counted lost) */
  acked_in_flight: number;
  /** neither acked nor refused with an error frame within the grace period */
  unacked: number;
  delivered_unacked: number;
  /** delivered with another id than its ack carried (a message delivered is the one acked, or this counts) */
  id_mismatch: number;
  misrouted: number;
  reordered: number;
  stale_frames: number;
  own_messages: number;
  notif_expected: number;
  notif_received: number;
  notif_missing: number;
  notif_dup: number;
  window_ms: number;
  drain_ms: number;
  /** messages due by the pacing schedule but not sent at window end (load generator behind) */
  pacing_deficit: number;
  loop_delay_p99_ms: number;
  max_client_buffered: number;
  skipped_closed: number;
  closes: Record<string, number>;
  deliver_lat: Float32Array;
  ack_lat: Float32Array;
}

export interface StatusResult {
  room_open: number;
  notif_open: number;
  closes: Record<string, number>;
  frames: Record<string, number>;
  rss: number;
}

export interface EventsResult {
  /** per notification socket: user index and the room ids of the `matched` events it got */
  matched: { user: number; rooms: string[] }[];
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
