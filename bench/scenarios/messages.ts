/**
 * Message throughput and latency (the messages, messages_v1, naive and gateways scenarios). Every
 * member of every room has one room socket and one notification socket; every member sends at the
 * same fixed rate (round robin over all senders, so the offered load is smooth); the offered load is
 * stepped up until the server saturates, every step (the saturated one too) `runs` times. Each step:
 * warm-up, a measured window, then a bounded grace period in which every message must be acked (or
 * refused with an error frame) and every acked one delivered exactly once to the partner, and
 * notified once on the partner's notification socket. After saturation, one overload step at 1.5×
 * the saturated offered load shows the load shedding: frames past the bounded send queue are
 * refused at once (`unavailable`), what is accepted is delivered at capacity with a bounded latency.
 */
import pg from 'pg';
import type { Ctx, Room } from '../lib/context.js';
import { cpuDelta, rssBytes, type CpuSnapshot } from '../lib/proc.js';
import type { LoadResult, OpenResult, SocketSpec } from '../lib/protocol.js';
import { concat, dist, median, round, type Dist } from '../lib/stats.js';
import { Runs } from '../lib/runs.js';
import { forgetMessages, ownerClient, type SendFunction } from '../lib/send-function.js';

export interface RunRecord {
  offered: number;
  sent_per_s: number;
  delivered_per_s: number;
  delivery_ms: Dist;
  ack_ms: Dist;
  sent: number;
  acked: number;
  delivered: number;
  lost: number;
  acked_in_flight: number;
  duplicated: number;
  dup_acks: number;
  unacked: number;
  refused: number;
  errors: Record<string, number>;
  notif_missing: number;
  notif_dup: number;
  reordered: number;
  misrouted: number;
  id_mismatch: number;
  socket_closes: Record<string, number>;
  drain_ms: number;
  pacing_deficit: number;
  loadgen_loop_p99_ms: number;
  server_cpu_pct: number;
  db_cpu_pct: number;
  loadgen_cpu_pct: number;
  machine_busy_pct: number;
  other_pct: number;
  server_rss_mb: number;
  /** transactions the messages were stored in (messages of one flush share sent_at = now()) */
  flushes?: { count: number; per_s: number; mean_size: number; p50_size: number; max_size: number };
}

/**
 * How the server batched this run: messages stored by one transaction share `sent_at` (now() is
 * the transaction's start time), so grouping the run's messages by sent_at gives the flushes.
 */
async function flushStats(ctx: Ctx, tag: string): Promise<RunRecord['flushes']> {
  const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'chat' });
  try {
    await c.connect();
    const q = await c.query<{ n: number; t: number }>(
      'select count(*)::int as n, extract(epoch from sent_at)::float8 as t from app.messages where client_id like $1 group by sent_at',
      [`${tag}w%`],
    );
    const sizes = q.rows.map((r) => r.n).sort((a, b) => a - b);
    if (!sizes.length) return undefined;
    const total = sizes.reduce((a, b) => a + b, 0);
    // over the span in which this run's messages were stored (warm-up, window and any backlog)
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of q.rows) {
      lo = Math.min(lo, r.t);
      hi = Math.max(hi, r.t);
    }
    const span = Math.max(1e-3, hi - lo);
    return {
      count: sizes.length,
      per_s: round(sizes.length / span, 1),
      mean_size: round(total / sizes.length, 1),
      p50_size: sizes[sizes.length >> 1]!,
      max_size: sizes[sizes.length - 1]!,
    };
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Waits (bounded) until the server stops storing messages of a run: its send queues are empty. */
async function drained(ctx: Ctx, tag: string): Promise<void> {
  const c = await ownerClient(ctx);
  const t0 = Date.now();
  try {
    let last = -1;
    for (;;) {
      const q = await c.query<{ n: number }>('select count(*)::int as n from app.messages where client_id like $1', [`${tag}w%`]);
      if (q.rows[0]!.n === last || Date.now() - t0 > 4 * ctx.cfg.graceMs) break;
      last = q.rows[0]!.n;
      await ctx.pause(1000);
    }
  } finally {
    await c.end();
  }
  ctx.log(`  waited ${Math.round((Date.now() - t0) / 1000)} s for the server to store the run's backlog`);
}

export interface LevelRecord {
  offered: number;
  runs: number;
  delivered_per_s: number;
  /** lowest and highest of the runs (delivered_per_s and delivery_p99_ms are their medians) */
  delivered_min_per_s: number;
  delivered_max_per_s: number;
  delivery_p99_min_ms: number;
  delivery_p99_max_ms: number;
  /** of `refused`, those answered `unavailable` at once by a full send queue (load shedding) */
  shed: number;
  sent_per_s: number;
  delivery_p50_ms: number;
  delivery_p95_ms: number;
  delivery_p99_ms: number;
  delivery_max_ms: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  ack_max_ms: number;
  /** totals over all runs of the level (counted, never assumed) */
  lost: number;
  /** acked at the very end of a grace period that ran out, delivery not seen yet (not lost, not proven delivered) */
  acked_in_flight: number;
  duplicated: number;
  unacked: number;
  refused: number;
  notif_missing: number;
  notif_dup: number;
  reordered: number;
  id_mismatch: number;
  server_cpu_pct: number;
  db_cpu_pct: number;
  loadgen_cpu_pct: number;
  machine_busy_pct: number;
  other_pct: number;
  server_rss_mb: number;
  loadgen_loop_p99_ms: number;
  flushes_per_s: number;
  flush_mean_size: number;
  saturated: boolean;
  saturation_reason?: string;
  run_records: RunRecord[];
  /** runs repeated because other processes used the CPU meanwhile (not in the medians; their lost/dup are in the totals) */
  disturbed_runs: number;
  disturbed_run_records: RunRecord[];
}

function sumRec(rs: Record<string, number>[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r)) o[k] = (o[k] ?? 0) + v;
  return o;
}

/**
 * A room and a notification socket for both members of every room. With several gateways, the two
 * members of a room are on consecutive gateways, so every delivery crosses processes (through the
 * database's NOTIFY and the other gateway's LISTEN).
 */
async function openPairs(ctx: Ctx, rooms: Room[]): Promise<{ opened: number; failed: number; failures: Record<string, number> }> {
  const gateways = ctx.gateways().map((g) => g.wsUrl);
  const specs: SocketSpec[] = [];
  for (const r of rooms) {
    for (const member of [0, 1] as const) {
      const u = ctx.users[r.members[member]]!;
      const wsBase = gateways.length > 1 ? gateways[(r.idx + member) % gateways.length] : undefined;
      specs.push({ kind: 'room', room: r.idx, member, tab: 0, user: u.idx, roomId: r.id, token: u.token!, wsBase });
      specs.push({ kind: 'notif', room: r.idx, member, tab: 0, user: u.idx, token: u.token!, wsBase });
    }
  }
  const parts = ctx.splitSpecs(specs);
  const res = await ctx.requirePool().each<OpenResult>((w) => ({ cmd: 'open', specs: parts[w]!, concurrency: 64 }));
  return {
    opened: res.reduce((s, r) => s + r.opened, 0),
    failed: res.reduce((s, r) => s + r.failed, 0),
    failures: sumRec(res.map((r) => r.failures)),
  };
}

async function runOnce(ctx: Ctx, offered: number, tag: string, senderShare: number[]): Promise<RunRecord> {
  const cfg = ctx.cfg;
  const pool = ctx.requirePool();
  const server = ctx.requireServer();
  let a: CpuSnapshot | undefined;
  let b: CpuSnapshot | undefined;
  let rssMax = 0;
  const ta = setTimeout(() => (a = ctx.cpu()), cfg.warmupMs);
  const tb = setTimeout(() => (b = ctx.cpu()), cfg.warmupMs + cfg.durationMs);
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssBytes(server.pid) || 0)), 500);
  let results: LoadResult[];
  try {
    results = await pool.each<LoadResult>((w) => ({
      cmd: 'load',
      tag: `${tag}w${w}`,
      rate: offered * senderShare[w]!,
      warmupMs: cfg.warmupMs,
      durationMs: cfg.durationMs,
      graceMs: cfg.graceMs,
      msgBytes: cfg.msgBytes,
    }));
  } finally {
    clearTimeout(ta);
    clearTimeout(tb);
    clearInterval(rssTimer);
  }
  const cpu = a && b ? cpuDelta(a, b) : { server_pct: NaN, db_pct: NaN, loadgen_pct: NaN, machine_busy_pct: NaN, other_pct: NaN };
  const s = (f: (r: LoadResult) => number) => results.reduce((acc, r) => acc + f(r), 0);
  const win = cfg.durationMs / 1000;
  return {
    offered,
    sent_per_s: Math.round(s((r) => r.sent_in_window) / win),
    delivered_per_s: Math.round(s((r) => r.delivered_in_window) / win),
    delivery_ms: dist(concat(results.map((r) => r.deliver_lat))),
    ack_ms: dist(concat(results.map((r) => r.ack_lat))),
    sent: s((r) => r.sent),
    acked: s((r) => r.acked),
    delivered: s((r) => r.delivered),
    lost: s((r) => r.lost),
    acked_in_flight: s((r) => r.acked_in_flight),
    duplicated: s((r) => r.dup_deliveries),
    dup_acks: s((r) => r.dup_acks),
    unacked: s((r) => r.unacked),
    refused: s((r) => r.errored),
    errors: sumRec(results.map((r) => r.errors)),
    notif_missing: s((r) => r.notif_missing),
    notif_dup: s((r) => r.notif_dup),
    reordered: s((r) => r.reordered),
    misrouted: s((r) => r.misrouted),
    id_mismatch: s((r) => r.id_mismatch),
    socket_closes: sumRec(results.map((r) => r.closes)),
    drain_ms: Math.max(...results.map((r) => r.drain_ms)),
    pacing_deficit: s((r) => r.pacing_deficit),
    loadgen_loop_p99_ms: Math.max(...results.map((r) => r.loop_delay_p99_ms)),
    server_cpu_pct: cpu.server_pct,
    db_cpu_pct: cpu.db_pct,
    loadgen_cpu_pct: cpu.loadgen_pct,
    machine_busy_pct: cpu.machine_busy_pct,
    other_pct: cpu.other_pct,
    server_rss_mb: round(rssMax / 2 ** 20, 1),
  };
}

function saturation(ctx: Ctx, r: RunRecord): string | undefined {
  if (r.delivered_per_s < ctx.cfg.saturation * r.offered) return `delivered ${r.delivered_per_s}/s < ${ctx.cfg.saturation} × offered`;
  if (r.unacked > 0.01 * r.sent) return `${r.unacked} messages still unacked after the grace period`;
  if (r.delivery_ms.p99 > 1000) return `p99 delivery ${r.delivery_ms.p99} ms > 1 s`;
  if (r.refused > 0.01 * r.sent) return `${r.refused} sends refused (${JSON.stringify(r.errors)})`;
  return undefined;
}

/** How a message scenario's server was set up (kept in its results): send function, lanes, queue, gateways. */
export interface MessagesSetup {
  label: string;
  /** which api.post_events the server ran (bench/lib/send-function.ts) */
  send_function: SendFunction;
  send_lanes: number;
  /** frames each lane may hold waiting (SEND_QUEUE_MAX); beyond it a frame is refused `unavailable` */
  send_queue_max: number;
  gateways: number;
}

/** Levels measured so far in this process: part of each run's tag, so no two runs share client_ids. */
let levelSeq = 0;

/** The runs of one offered level, summarized: medians with their spread, counts totalled. */
async function level(ctx: Ctx, setup: MessagesSetup, offered: number, li: number, senderShare: number[]): Promise<LevelRecord> {
  const runs = new Runs<RunRecord>(ctx);
  const seq = ++levelSeq;
  while (runs.wanted) {
    const run = runs.kept.length;
    await ctx.waitQuiet();
    // unique per scenario, level and run: client_ids (and so flushStats) never mix runs
    const tag = `q${seq}z${ctx.tag}l${li}r${run}x${runs.disturbed.length}`;
    const r = await runOnce(ctx, offered, tag, senderShare);
    r.flushes = await flushStats(ctx, tag);
    ctx.log(
      `  ${setup.label} offered ${offered}/s run ${run + 1}: delivered ${r.delivered_per_s}/s, p50/p99/max ${r.delivery_ms.p50}/${r.delivery_ms.p99}/${r.delivery_ms.max} ms, ack p99 ${r.ack_ms.p99} ms, lost ${r.lost} dup ${r.duplicated} unacked ${r.unacked} refused ${r.refused}, cpu server ${r.server_cpu_pct}% db ${r.db_cpu_pct}% loadgen ${r.loadgen_cpu_pct}% machine ${r.machine_busy_pct}% (other ${r.other_pct}%)${r.flushes ? `; ${r.flushes.per_s} flushes/s of ${r.flushes.mean_size} (max ${r.flushes.max_size})` : ''}`,
    );
    // a run whose grace period ran out left messages in the server's send queues: the next run
    // starts once they are stored, or it would measure this run's backlog
    if (r.unacked || r.acked_in_flight) await drained(ctx, tag);
    await ctx.pause(saturation(ctx, r) ? 1000 : 300);
    if (!runs.keep(r, r.other_pct)) await ctx.pause(1000);
  }
  const m = (f: (r: RunRecord) => number) => round(median(runs.kept.map(f)), 2);
  const lo = (f: (r: RunRecord) => number) => round(Math.min(...runs.kept.map(f)), 2);
  const hi = (f: (r: RunRecord) => number) => round(Math.max(...runs.kept.map(f)), 2);
  // what must be zero is summed over every run, disturbed ones included
  const tot = (f: (r: RunRecord) => number) => runs.all.reduce((s, r) => s + f(r), 0);
  // saturated when most runs are (one slow run does not end the stepping)
  const reasons = runs.kept.map((r) => saturation(ctx, r)).filter((x): x is string => !!x);
  const reason = reasons.length * 2 > runs.kept.length ? reasons[0] : undefined;
  return {
    offered,
    runs: runs.kept.length,
    delivered_per_s: Math.round(m((r) => r.delivered_per_s)),
    delivered_min_per_s: lo((r) => r.delivered_per_s),
    delivered_max_per_s: hi((r) => r.delivered_per_s),
    delivery_p99_min_ms: lo((r) => r.delivery_ms.p99),
    delivery_p99_max_ms: hi((r) => r.delivery_ms.p99),
    shed: tot((r) => r.errors.unavailable ?? 0),
    sent_per_s: Math.round(m((r) => r.sent_per_s)),
    delivery_p50_ms: m((r) => r.delivery_ms.p50),
    delivery_p95_ms: m((r) => r.delivery_ms.p95),
    delivery_p99_ms: m((r) => r.delivery_ms.p99),
    delivery_max_ms: m((r) => r.delivery_ms.max),
    ack_p50_ms: m((r) => r.ack_ms.p50),
    ack_p99_ms: m((r) => r.ack_ms.p99),
    ack_max_ms: m((r) => r.ack_ms.max),
    lost: tot((r) => r.lost),
    acked_in_flight: tot((r) => r.acked_in_flight),
    duplicated: tot((r) => r.duplicated),
    unacked: tot((r) => r.unacked),
    refused: tot((r) => r.refused),
    notif_missing: tot((r) => r.notif_missing),
    notif_dup: tot((r) => r.notif_dup),
    reordered: tot((r) => r.reordered),
    id_mismatch: tot((r) => r.id_mismatch),
    server_cpu_pct: m((r) => r.server_cpu_pct),
    db_cpu_pct: m((r) => r.db_cpu_pct),
    loadgen_cpu_pct: m((r) => r.loadgen_cpu_pct),
    machine_busy_pct: m((r) => r.machine_busy_pct),
    other_pct: m((r) => r.other_pct),
    server_rss_mb: m((r) => r.server_rss_mb),
    loadgen_loop_p99_ms: m((r) => r.loadgen_loop_p99_ms),
    flushes_per_s: m((r) => r.flushes?.per_s ?? NaN),
    flush_mean_size: m((r) => r.flushes?.mean_size ?? NaN),
    saturated: !!reason,
    ...(reason ? { saturation_reason: reason } : {}),
    run_records: runs.kept,
    disturbed_runs: runs.disturbed.length,
    disturbed_run_records: runs.disturbed,
  };
}

/** The overload step's offered load: 1.5× the saturated one, within what the per-user limit lets us offer. */
export const OVERLOAD_FACTOR = 1.5;

export async function messages(ctx: Ctx, setup: MessagesSetup, rooms: Room[], levels: number[]) {
  const cfg = ctx.cfg;
  const pool = ctx.requirePool();
  await forgetMessages(ctx);
  const t0 = performance.now();
  const open = await openPairs(ctx, rooms);
  ctx.log(
    `  opened ${open.opened} sockets (${rooms.length} rooms × 2 members × room+notification${setup.gateways > 1 ? `, over ${setup.gateways} gateways` : ''}) in ${Math.round(performance.now() - t0)} ms${open.failed ? `, FAILED ${open.failed} ${JSON.stringify(open.failures)}` : ''}`,
  );
  if (open.failed) throw new Error(`could not open sockets: ${JSON.stringify(open.failures)}`);
  await ctx.pause(500);
  // offered load is split in proportion to each process's senders (both members of its rooms)
  const perWorker = Array.from({ length: pool.size }, () => 0);
  for (const r of rooms) perWorker[ctx.workerOfRoom(r.idx)]! += 2;
  const senderShare = perWorker.map((n) => n / (rooms.length * 2));

  const out: LevelRecord[] = [];
  let overload: LevelRecord | undefined;
  for (let li = 0; li < levels.length; li++) {
    const rec = await level(ctx, setup, levels[li]!, li, senderShare);
    out.push(rec);
    if (rec.saturated) {
      ctx.log(`  ${setup.label}: saturated at ${rec.offered}/s offered (${rec.saturation_reason}); stepping stops`);
      // the server refuses more than 20 messages/s per user: never offer more than 18
      const over = Math.min(Math.round(rec.offered * OVERLOAD_FACTOR), rooms.length * 36);
      if (over > rec.offered && ctx.overloadsTaken < cfg.overloadSteps) {
        ctx.overloadsTaken++;
        ctx.log(`  ${setup.label}: overload step at ${over}/s offered`);
        overload = await level(ctx, setup, over, li + 1, senderShare);
        overload.saturated = true;
      }
      break;
    }
  }
  await pool.all({ cmd: 'close' });
  const best = out.reduce((a, b) => (b.delivered_per_s > a.delivered_per_s ? b : a), out[0]!);
  const all = overload ? [...out, overload] : out;
  return {
    ...setup,
    rooms: rooms.length,
    room_sockets: rooms.length * 2,
    notification_sockets: rooms.length * 2,
    senders: rooms.length * 2,
    load_generators: pool.size,
    msg_bytes: cfg.msgBytes,
    warmup_ms: cfg.warmupMs,
    window_ms: cfg.durationMs,
    grace_ms: cfg.graceMs,
    batch_max: ctx.server?.opts.batchMax,
    batch_ms: ctx.server?.opts.batchMs,
    max_delivered_per_s: best.delivered_per_s,
    max_delivered_min_per_s: best.delivered_min_per_s,
    max_delivered_max_per_s: best.delivered_max_per_s,
    max_delivered_at_offered: best.offered,
    max_delivered_runs: best.runs,
    lost_total: all.reduce((s, l) => s + l.lost, 0),
    duplicated_total: all.reduce((s, l) => s + l.duplicated, 0),
    id_mismatch_total: all.reduce((s, l) => s + l.id_mismatch, 0),
    levels: out,
    overload,
  };
}

export type MessagesResult = Awaited<ReturnType<typeof messages>>;
