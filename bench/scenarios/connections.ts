/**
 * Scenario 3 — connections: many concurrent idle room sockets (several tabs per member of every
 * room) plus a notification socket per tab, opened as fast as the server accepts them. Reports
 * the upgrade rate (auth + membership check included), upgrade latency and the server's RSS per
 * 1,000 sockets. Each run starts a fresh server process so its RSS baseline is clean.
 */
import type { Ctx, Room } from '../lib/context.js';
import { cpuDelta, fdCount, maxOpenFiles } from '../lib/proc.js';
import type { OpenResult, SocketSpec, StatusResult } from '../lib/protocol.js';
import { concat, dist, median, round, type Dist } from '../lib/stats.js';
import { Runs } from '../lib/runs.js';

interface ConnRun {
  sockets: number;
  room_sockets: number;
  notification_sockets: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  upgrades_per_s: number;
  upgrade_ms: Dist;
  rss_base_mb: number;
  rss_open_mb: number;
  rss_per_1000_sockets_mb: number;
  rss_per_1000_room_sockets_mb: number;
  still_open_after_idle: number;
  open_cpu: ReturnType<typeof cpuDelta>;
  idle_cpu: ReturnType<typeof cpuDelta>;
  loadgen_rss_mb: number;
  other_cpu_pct_before: number;
}

async function rssSettled(ctx: Ctx, samples = 4, gapMs = 500): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < samples; i++) {
    await ctx.pause(gapMs);
    v.push(ctx.requireServer().rss());
  }
  return v[v.length - 1]!;
}

export async function connections(ctx: Ctx, rooms: Room[]) {
  const cfg = ctx.cfg;
  const runs = new Runs<ConnRun>(ctx);
  let plan: { room_sockets: number; notification_sockets: number; fd_limit: number; note?: string } | undefined;
  while (runs.wanted) {
    const run = runs.kept.length;
    const server = await ctx.startServer();
    const pool = ctx.requirePool();
    const base = await rssSettled(ctx);
    // the server needs one descriptor per socket: stay under its open-files limit
    const limit = maxOpenFiles(server.pid);
    const budget = (Number.isFinite(limit) ? limit : 1e9) - (fdCount(server.pid) || 0) - 100;
    const wantRoom = rooms.length * 2 * cfg.tabs;
    const roomN = Math.min(wantRoom, budget);
    const notifN = Math.max(0, Math.min(roomN, budget - roomN));
    plan = {
      room_sockets: roomN,
      notification_sockets: notifN,
      fd_limit: limit,
      ...(notifN < roomN ? { note: `server open-files limit ${limit}: ${notifN} notification sockets instead of ${roomN}` } : {}),
    };
    const specs: SocketSpec[] = [];
    let nr = 0;
    let nn = 0;
    for (let tab = 0; tab < cfg.tabs; tab++) {
      for (const r of rooms) {
        for (const member of [0, 1] as const) {
          const u = ctx.users[r.members[member]]!;
          if (nr < roomN) {
            specs.push({ kind: 'room', room: r.idx, member, tab, user: u.idx, roomId: r.id, token: u.token! });
            nr++;
          }
          if (nn < notifN) {
            specs.push({ kind: 'notif', room: r.idx, member, tab, user: u.idx, token: u.token! });
            nn++;
          }
        }
      }
    }
    const parts = ctx.splitSpecs(specs);
    const otherBefore = await ctx.waitQuiet();
    const a = ctx.cpu();
    const startAt = Date.now() + 200;
    const res = await pool.each<OpenResult>((w) => ({ cmd: 'open', specs: parts[w]!, concurrency: 128, startAt }));
    const cpu = cpuDelta(a, ctx.cpu());
    const t0 = Math.min(...res.map((r) => r.t0));
    const t1 = Math.max(...res.map((r) => r.t1));
    const opened = res.reduce((s, r) => s + r.opened, 0);
    const failed = res.reduce((s, r) => s + r.failed, 0);
    const failures: Record<string, number> = {};
    for (const r of res) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    const lat = dist(concat(res.map((r) => r.latencies)));
    const after = await rssSettled(ctx, 6);
    // idle: nothing is sent; the server's pings keep the sockets alive
    const i0 = ctx.cpu();
    await ctx.pause(cfg.connIdleMs);
    const idleCpu = cpuDelta(i0, ctx.cpu());
    const st = await pool.all<StatusResult>({ cmd: 'status' });
    const stillOpen = st.reduce((s, x) => s + x.room_open + x.notif_open, 0);
    const rssIdle = server.rss();
    const loadgenRss = st.reduce((s, x) => s + x.rss, 0);
    await pool.all({ cmd: 'close' });
    const delta = Math.max(after, rssIdle) - base;
    const rec: ConnRun = {
      sockets: opened,
      room_sockets: roomN,
      notification_sockets: notifN,
      failed,
      failures,
      seconds: round((t1 - t0) / 1000, 3),
      upgrades_per_s: Math.round(opened / ((t1 - t0) / 1000)),
      upgrade_ms: lat,
      rss_base_mb: round(base / 2 ** 20, 1),
      rss_open_mb: round(Math.max(after, rssIdle) / 2 ** 20, 1),
      rss_per_1000_sockets_mb: round(delta / 2 ** 20 / (opened / 1000), 2),
      rss_per_1000_room_sockets_mb: round(delta / 2 ** 20 / (roomN / 1000), 2),
      still_open_after_idle: stillOpen,
      open_cpu: cpu,
      idle_cpu: idleCpu,
      loadgen_rss_mb: round(loadgenRss / 2 ** 20, 1),
      other_cpu_pct_before: otherBefore,
    };
    ctx.log(
      `  run ${run + 1}: ${opened} sockets (${roomN} room + ${notifN} notification) in ${rec.seconds} s = ${rec.upgrades_per_s} upgrades/s, p99 ${lat.p99} ms, cpu server ${cpu.server_pct}% db ${cpu.db_pct}% loadgen ${cpu.loadgen_pct}% machine ${cpu.machine_busy_pct}% (other ${cpu.other_pct}%); RSS ${rec.rss_base_mb} → ${rec.rss_open_mb} MB = ${rec.rss_per_1000_sockets_mb} MB/1000 sockets; ${stillOpen} open after ${cfg.connIdleMs} ms idle${failed ? `; FAILED ${failed} ${JSON.stringify(failures)}` : ''}`,
    );
    if (!runs.keep(rec, cpu.other_pct)) continue;
  }
  const m = (f: (r: ConnRun) => number) => round(median(runs.kept.map(f)), 2);
  return {
    ...plan,
    tabs_per_member: cfg.tabs,
    rooms: rooms.length,
    upgrades_per_s: m((r) => r.upgrades_per_s),
    upgrade_p50_ms: m((r) => r.upgrade_ms.p50),
    upgrade_p99_ms: m((r) => r.upgrade_ms.p99),
    rss_per_1000_sockets_mb: m((r) => r.rss_per_1000_sockets_mb),
    rss_per_1000_room_sockets_mb: m((r) => r.rss_per_1000_room_sockets_mb),
    rss_open_mb: m((r) => r.rss_open_mb),
    rss_base_mb: m((r) => r.rss_base_mb),
    server_cpu_pct_while_opening: m((r) => r.open_cpu.server_pct),
    db_cpu_pct_while_opening: m((r) => r.open_cpu.db_pct),
    loadgen_cpu_pct_while_opening: m((r) => r.open_cpu.loadgen_pct),
    machine_busy_pct_while_opening: m((r) => r.open_cpu.machine_busy_pct),
    other_cpu_pct_while_opening: m((r) => r.open_cpu.other_pct),
    server_cpu_pct_idle: m((r) => r.idle_cpu.server_pct),
    failed_total: runs.all.reduce((s, r) => s + r.failed, 0),
    dropped_while_idle: runs.all.reduce((s, r) => s + (r.sockets - r.still_open_after_idle), 0),
    runs: runs.kept,
    disturbed_runs: runs.disturbed,
  };
}

export type ConnectionsResult = Awaited<ReturnType<typeof connections>>;
