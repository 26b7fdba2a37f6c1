/**
 * Scenario — soak: sockets churning with messages flowing for `soakMs` (full 10 minutes, quick
 * 1 minute) on one fresh server process whose memory is sampled all along. Does memory stay flat?
 *
 * The rooms are split into groups; one cycle opens the room socket and the notification socket of
 * both members of every room of the next group, sends messages at a steady rate through them
 * (every one acked and delivered, as the message scenarios check), then closes them all. Every
 * `soakSampleMs` a probe loaded into the server (bench/lib/memory-probe.ts) runs a full GC and
 * records process.memoryUsage(). The verdict is the least-squares slope of the live heap and of
 * the RSS over the samples after the first fifth (start-up, JIT and pools warming up).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Ctx, Room } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import type { LoadResult, OpenResult, SocketSpec } from '../lib/protocol.js';
import { round } from '../lib/stats.js';

interface Sample {
  t: number;
  rss: number;
  heap_used: number;
  heap_total: number;
  external: number;
  array_buffers: number;
}

export interface SoakResult {
  duration_s: number;
  cycles: number;
  rooms_per_cycle: number;
  sockets_opened: number;
  open_failures: number;
  server_closes: Record<string, number>;
  messages_offered_per_s: number;
  sent: number;
  acked: number;
  refused: number;
  delivered: number;
  lost: number;
  duplicated: number;
  unacked: number;
  samples: number;
  /** after the first fifth: MB per minute */
  heap_slope_mb_per_min: number;
  rss_slope_mb_per_min: number;
  heap_mb: { first: number; min: number; max: number; last: number };
  rss_mb: { first: number; min: number; max: number; last: number };
  /** flat: heap slope < 0.5 MB/min and RSS slope < 2 MB/min */
  verdict: 'flat' | 'growing';
  server_cpu_pct: number;
  db_cpu_pct: number;
  other_pct: number;
  series: Array<{ s: number; heap_mb: number; rss_mb: number }>;
}

const HEAP_LIMIT_MB_PER_MIN = 0.5;
const RSS_LIMIT_MB_PER_MIN = 2;
const CYCLE_LOAD_MS = 4000;
const MB = 1024 * 1024;

export async function soak(ctx: Ctx, rooms: Room[]): Promise<SoakResult> {
  const cfg = ctx.cfg;
  const probeFile = path.join(ctx.dataDir, 'soak-memory.jsonl');
  rmSync(probeFile, { force: true });
  // a fresh process: its memory is the soak's alone
  await ctx.startServer(cfg.batchMax, {
    nodeArgs: ['--expose-gc', `--import=${path.join(ctx.distDir, 'lib', 'memory-probe.js')}`],
    env: { BENCH_PROBE_FILE: probeFile, BENCH_PROBE_MS: String(cfg.soakSampleMs) },
  });
  const pool = ctx.requirePool();
  const groupSize = Math.max(1, Math.min(rooms.length, cfg.mode === 'quick' ? 50 : 100));
  const groups = Math.max(1, Math.floor(rooms.length / groupSize));
  const rate = groupSize * 2 * 2; // 2 messages/s per member: traffic, far from the rate limit
  const totals = { opened: 0, failed: 0, sent: 0, acked: 0, refused: 0, delivered: 0, lost: 0, dup: 0, unacked: 0 };
  const closes: Record<string, number> = {};
  const cpuA = ctx.cpu();
  const started = Date.now();
  let cycles = 0;

  while (Date.now() - started < cfg.soakMs) {
    const group = rooms.slice((cycles % groups) * groupSize, ((cycles % groups) + 1) * groupSize);
    const specs: SocketSpec[] = [];
    for (const r of group) {
      for (const member of [0, 1] as const) {
        const u = ctx.users[r.members[member]]!;
        specs.push({ kind: 'room', room: r.idx, member, tab: 0, user: u.idx, roomId: r.id, token: u.token! });
        specs.push({ kind: 'notif', room: r.idx, member, tab: 0, user: u.idx, token: u.token! });
      }
    }
    const parts = ctx.splitSpecs(specs);
    const opened = await pool.each<OpenResult>((w) => ({ cmd: 'open', specs: parts[w]!, concurrency: 64 }));
    totals.opened += opened.reduce((s, o) => s + o.opened, 0);
    totals.failed += opened.reduce((s, o) => s + o.failed, 0);
    const share = parts.map((p) => p.filter((s) => s.kind === 'room').length / (group.length * 2));
    const loads = await pool.each<LoadResult>((w) => ({
      cmd: 'load',
      tag: `soak${ctx.tag}c${cycles}w${w}`,
      rate: rate * share[w]!,
      warmupMs: 0,
      durationMs: CYCLE_LOAD_MS,
      graceMs: 10_000,
      msgBytes: cfg.msgBytes,
    }));
    for (const l of loads) {
      totals.sent += l.sent;
      totals.acked += l.acked;
      totals.refused += l.errored;
      totals.delivered += l.delivered;
      totals.lost += l.lost;
      totals.dup += l.dup_deliveries;
      totals.unacked += l.unacked;
      for (const [k, v] of Object.entries(l.closes)) closes[k] = (closes[k] ?? 0) + v;
    }
    await pool.all({ cmd: 'close' });
    cycles++;
    if (cycles % 10 === 0)
      ctx.log(
        `  soak: ${cycles} cycles, ${Math.round((Date.now() - started) / 1000)} s, ${totals.opened} sockets opened, ${totals.acked} messages acked`,
      );
  }
  const cpu = cpuDelta(cpuA, ctx.cpu());
  // one more sample after everything closed
  await ctx.pause(cfg.soakSampleMs + 500);

  const samples = readSamples(probeFile);
  if (samples.length < 5) throw new Error(`soak: only ${samples.length} memory samples in ${probeFile}`);
  const t0 = samples[0]!.t;
  const steady = samples.slice(Math.floor(samples.length / 5));
  const slope = (pick: (s: Sample) => number) => slopePerMinute(steady.map((s) => [(s.t - t0) / 60_000, pick(s) / MB]));
  const heapSlope = slope((s) => s.heap_used);
  const rssSlope = slope((s) => s.rss);
  const range = (pick: (s: Sample) => number) => {
    const v = samples.map((s) => pick(s) / MB);
    return { first: round(v[0]!, 1), min: round(Math.min(...v), 1), max: round(Math.max(...v), 1), last: round(v.at(-1)!, 1) };
  };
  return {
    duration_s: Math.round((Date.now() - started) / 1000),
    cycles,
    rooms_per_cycle: groupSize,
    sockets_opened: totals.opened,
    open_failures: totals.failed,
    server_closes: closes,
    messages_offered_per_s: rate,
    sent: totals.sent,
    acked: totals.acked,
    refused: totals.refused,
    delivered: totals.delivered,
    lost: totals.lost,
    duplicated: totals.dup,
    unacked: totals.unacked,
    samples: samples.length,
    heap_slope_mb_per_min: round(heapSlope, 3),
    rss_slope_mb_per_min: round(rssSlope, 3),
    heap_mb: range((s) => s.heap_used),
    rss_mb: range((s) => s.rss),
    verdict: heapSlope < HEAP_LIMIT_MB_PER_MIN && rssSlope < RSS_LIMIT_MB_PER_MIN ? 'flat' : 'growing',
    server_cpu_pct: cpu.server_pct,
    db_cpu_pct: cpu.db_pct,
    other_pct: cpu.other_pct,
    series: samples.map((s) => ({ s: Math.round((s.t - t0) / 1000), heap_mb: round(s.heap_used / MB, 2), rss_mb: round(s.rss / MB, 1) })),
  };
}

export const SOAK_LIMITS = { heap: HEAP_LIMIT_MB_PER_MIN, rss: RSS_LIMIT_MB_PER_MIN };

function readSamples(file: string): Sample[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Sample);
}

/** Least-squares slope of y over x. */
function slopePerMinute(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
