/** The generated part of bench/README.md (or the quick summary): the target table, the analysis and the tables. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LevelRecord, MessagesResult } from '../scenarios/messages.js';
import { SOAK_LIMITS } from '../scenarios/soak.js';
import { analysis } from './analysis.js';
import { type Capacity, type Figures, figures, levelAt } from './figures.js';
import { n0, n1, n2, spread, times } from './format.js';
import { type Envelope, readResult, SCENARIOS } from './results.js';

const mark = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? '**met**' : '**missed**');

export interface Headline {
  metric: string;
  target: string;
  value: string;
  ok?: boolean;
}

/** The offered load at which the issue's latency target is stated. */
export const LATENCY_TARGET_OFFERED = 10_000;
/** An overload step holds when what is delivered stays at least this share of the capacity. */
export const OVERLOAD_HOLDS = 0.9;

const clean = (r: MessagesResult) => r.lost_total === 0 && r.duplicated_total === 0 && !r.id_mismatch_total;
const capacityText = (c: Capacity) =>
  `${spread(c.delivered, c.min, c.max, c.runs)} at ${n0(c.offered)} offered; lost ${c.result.lost_total}, dup ${c.result.duplicated_total}`;

/** The target table, computed from whatever results exist. */
export function headlines(dir: string): Headline[] {
  const f = figures(dir);
  const out: Headline[] = [];
  const soak = f.soak;
  if (soak)
    out.push({
      metric: `memory over a ${Math.round(soak.duration_s / 60)}-minute soak with sockets churning`,
      target: `flat: live heap < ${SOAK_LIMITS.heap} MB/min, RSS < ${SOAK_LIMITS.rss} MB/min`,
      value: `${soak.verdict}: heap ${n2(soak.heap_slope_mb_per_min)} MB/min (${n1(soak.heap_mb.first)} → ${n1(soak.heap_mb.last)} MB), RSS ${n2(soak.rss_slope_mb_per_min)} MB/min (${n1(soak.rss_mb.first)} → ${n1(soak.rss_mb.last)} MB); ${n0(soak.sockets_opened)} sockets opened and closed, ${n0(soak.acked)} messages, lost ${soak.lost}`,
      ok: soak.verdict === 'flat' && soak.lost === 0 && soak.duplicated === 0,
    });
  if (f.spCurrent)
    out.push({
      metric: 'send path alone: api.post_events back to back, 1 client (one lane)',
      target: '≥ 25,000 msg/s',
      value: `${spread(f.spCurrent.msgs_per_s, f.spCurrent.msgs_per_s_min, f.spCurrent.msgs_per_s_max, f.spCurrent.runs)} msg/s at batch ${f.spCurrent.batch} (${n2(f.spCurrent.ms_per_call)} ms per call)${f.spV1 ? `; v1 (049c1cc) in the same run: ${n0(f.spV1.msgs_per_s)}` : ''}`,
      ok: f.spCurrent.msgs_per_s >= 25_000,
    });
  if (f.batched)
    out.push({
      metric: 'delivered messages/s end to end (max over the offered-load steps)',
      target: '≥ 15,000 with 0 lost / 0 duplicated',
      value: `${capacityText(f.batched)}, delivered ≠ acked id ${f.batched.result.id_mismatch_total ?? 'not checked'}`,
      ok: f.batched.delivered >= 15_000 && clean(f.batched.result),
    });
  if (f.batchedV1)
    out.push({ metric: 'the same with the v1 send function (049c1cc), same run', target: 'report', value: capacityText(f.batchedV1) });
  if (f.messages) {
    const at = levelAt(f.messages, LATENCY_TARGET_OFFERED);
    const v1 = levelAt(f.v1, LATENCY_TARGET_OFFERED);
    out.push({
      metric: `p99 send → partner delivery at ${n0(LATENCY_TARGET_OFFERED)} msg/s offered`,
      target: '≤ 25 ms',
      value: at
        ? `${spread(at.delivery_p99_ms, at.delivery_p99_min_ms, at.delivery_p99_max_ms, at.runs, n2)} ms (p50 ${n2(at.delivery_p50_ms)}, max ${n2(at.delivery_max_ms)})${v1 ? `; v1: ${n2(v1.delivery_p99_ms)} ms` : ''}`
        : `not measured: no step at ${n0(LATENCY_TARGET_OFFERED)} msg/s (it needs ≥ ${Math.ceil(LATENCY_TARGET_OFFERED / 36)} rooms, and a step below saturation)`,
      ok: at ? at.delivery_p99_ms <= 25 : undefined,
    });
  }
  if (f.batched && f.bestNaive)
    out.push({
      metric: 'batched ÷ best naive (one-message function, one commit per message, best of 2/8/32 in flight), max delivered msg/s',
      target: '≥ 5×',
      value: `${times(f.batchedOverNaive)} (${n0(f.batched.delivered)} vs ${n0(f.bestNaive.delivered)} with ${f.bestNaive.result.send_lanes} in flight; naive lost ${f.bestNaive.result.lost_total}, dup ${f.bestNaive.result.duplicated_total})`,
      ok: (f.batchedOverNaive ?? 0) >= 5,
    });
  if (f.batched && f.narrow)
    out.push({
      metric: 'batched ÷ old narrow naive (SEND_BATCH_MAX=1, 2 lanes, batch-shaped api.post_events)',
      target: 'report',
      value: `${times(f.batchedOverNarrow)} (${n0(f.batched.delivered)} vs ${n0(f.narrow.delivered)})`,
    });
  if (f.spCurrent256 && f.spBestNaive)
    out.push({
      metric: 'send path alone: api.post_events (batch 256, 1 client) ÷ best naive function (one transaction per message)',
      target: 'report',
      value: `${times(f.spCurrent256.msgs_per_s / f.spBestNaive.msgs_per_s)} (${n0(f.spCurrent256.msgs_per_s)} vs ${n0(f.spBestNaive.msgs_per_s)} with ${f.spBestNaive.clients} in flight, ${n2(f.spBestNaive.ms_per_call)} ms per call)`,
    });
  if (f.spCurrent && f.spV1)
    out.push({
      metric: 'send path alone: current ÷ v1 (049c1cc) at equal batch, 1 client',
      target: 'report',
      value: `${times(f.spCurrent.msgs_per_s / f.spV1.msgs_per_s)} at batch ${f.spCurrent.batch} (${n0(f.spCurrent.msgs_per_s)} vs ${n0(f.spV1.msgs_per_s)}); end to end ${times(f.currentOverV1)}`,
    });
  const over = f.overloads.find((o) => o.label === f.batched?.label) ?? f.overloads[0];
  if (over)
    out.push({
      metric: `load shedding: ${over.label}, offered ${n0(over.step.offered)} msg/s (past saturation)`,
      target: `delivered ≥ ${OVERLOAD_HOLDS} × capacity, excess refused \`unavailable\`, 0 lost / 0 dup`,
      value: overloadText(over),
      ok: over.step.delivered_per_s >= OVERLOAD_HOLDS * over.capacity.delivered && over.step.lost === 0 && over.step.duplicated === 0,
    });
  else if (f.batched)
    out.push({
      metric: 'load shedding past saturation',
      target: 'delivered ≈ capacity, excess refused `unavailable`, 0 lost / 0 dup',
      value: `not measured: no overload step in the results (one follows a step that saturates below ${n0(f.batched.result.rooms * 36)} msg/s, the most the bench offers ${n0(f.batched.result.rooms)} rooms)`,
    });
  if (f.gateways.length && f.batched)
    out.push({
      metric: 'gateway processes on one PostgreSQL: max delivered msg/s',
      target: 'report',
      value: [f.batched, ...f.gateways]
        .map((c) => `${c.result.gateways ?? 1}: ${n0(c.delivered)} (p99 ${n2(c.level.delivery_p99_ms)} ms)`)
        .join('; '),
    });
  const conn = f.connections;
  if (conn) {
    out.push({
      metric: 'server RSS per 1,000 idle sockets',
      target: '≤ 25 MB',
      value: `${n2(conn.rss_per_1000_sockets_mb)} MB (${n0(conn.room_sockets)} room + ${n0(conn.notification_sockets)} notification sockets; ${n2(conn.rss_per_1000_room_sockets_mb)} MB per 1,000 room sockets with their notification sockets)`,
      ok: conn.rss_per_1000_sockets_mb <= 25,
    });
    out.push({
      metric: 'WebSocket upgrades/s (JWT + membership check)',
      target: '≥ 2,000',
      value: `${n0(conn.upgrades_per_s)} (p99 ${n2(conn.upgrade_p99_ms)} ms; ${conn.failed_total} failed, ${conn.dropped_while_idle} dropped while idle)`,
      ok: conn.upgrades_per_s >= 2000 && conn.failed_total === 0,
    });
  }
  const match = f.matching;
  if (match)
    out.push({
      metric: 'pool joins/s (all users at once)',
      target: '≥ 1,000, invariants hold',
      value: `${n0(match.joins_per_s)} (${n0(match.users)} users, ${n0(match.rooms_created)} rooms, p99 ${n2(match.join_p99_ms)} ms; invariants ${match.invariants_ok ? 'OK' : 'VIOLATED'})`,
      ok: match.joins_per_s >= 1000 && match.invariants_ok,
    });
  const auth = f.auth;
  if (auth)
    out.push({
      metric: `register / login throughput (${auth.argon2}, ${auth.concurrency} concurrent)`,
      target: 'report',
      value: `register ${n1(auth.register.per_s)}/s p99 ${n1(auth.register.p99_ms)} ms; login ${n1(auth.login.per_s)}/s p99 ${n1(auth.login.p99_ms)} ms`,
    });
  const ceil = f.ceiling;
  if (ceil) {
    out.push({
      metric: 'database ceiling (pgbench, 8 clients; no listener, no room lock, no idempotency, no content checks)',
      target: 'report',
      value: `naive insert+NOTIFY ${n0(ceil.naive_ceiling_rows_per_s)} rows/s; 40-row batch + 1 NOTIFY ${n0(ceil.batched_ceiling_rows_per_s)} rows/s; plain insert ${n0(ceil.plain_insert_rows_per_s)} rows/s`,
    });
    if (f.batched)
      out.push({
        metric: 'delivered msg/s ÷ batched ceiling (ins_batch, 8 clients)',
        target: 'report',
        value: `${n2(f.batched.delivered / ceil.batched_ceiling_rows_per_s)} (${n0(f.batched.delivered)} ÷ ${n0(ceil.batched_ceiling_rows_per_s)})`,
      });
    if (f.bestNaive)
      out.push({
        metric: 'best naive delivered msg/s ÷ naive ceiling (ins_notify, 8 clients)',
        target: 'report',
        value: `${n2(f.bestNaive.delivered / ceil.naive_ceiling_rows_per_s)} (${n0(f.bestNaive.delivered)} ÷ ${n0(ceil.naive_ceiling_rows_per_s)})`,
      });
  }
  if (f.spCurrent && f.batched)
    out.push({
      metric: 'delivered msg/s ÷ send-path ceiling (1 client)',
      target: 'report',
      value: `${n2(f.batched.delivered / f.spCurrent.msgs_per_s)} (${n0(f.batched.delivered)} ÷ ${n0(f.spCurrent.msgs_per_s)})`,
    });
  return out;
}

export function overloadText(o: Figures['overloads'][number]): string {
  const s = o.step;
  const refusedShare =
    s.run_records.reduce((a, r) => a + r.refused, 0) /
    Math.max(
      1,
      s.run_records.reduce((a, r) => a + r.sent, 0),
    );
  return `delivered ${spread(s.delivered_per_s, s.delivered_min_per_s, s.delivered_max_per_s, s.runs)}/s = ${n2(s.delivered_per_s / o.capacity.delivered)} × capacity (${n0(o.capacity.delivered)}); refused ${n0(s.shed)} \`unavailable\` (${n1(refusedShare * 100)} % of sent); p99 of accepted ${n2(s.delivery_p99_ms)} ms; lost ${s.lost}, dup ${s.duplicated}`;
}

function levelsTable(r: MessagesResult): string[] {
  const rows = [
    '| offered msg/s | delivered msg/s (median, min–max of the runs) | delivery p50 / p95 / p99 / max ms (p99 min–max) | ack p50 / p99 / max ms | lost | dup | unacked | refused (of which `unavailable`) | server CPU % | PG CPU % | loadgen CPU % | machine busy % | other processes CPU % | server RSS MB | flushes/s × mean size | runs |',
    '|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (l: LevelRecord, note: string) =>
    `| ${n0(l.offered)}${note} | ${n0(l.delivered_per_s)}${l.runs > 1 && l.delivered_min_per_s !== undefined ? ` (${n0(l.delivered_min_per_s)}–${n0(l.delivered_max_per_s)})` : ''} | ${n2(l.delivery_p50_ms)} / ${n2(l.delivery_p95_ms)} / ${n2(l.delivery_p99_ms)} / ${n2(l.delivery_max_ms)}${l.runs > 1 && l.delivery_p99_min_ms !== undefined ? ` (${n2(l.delivery_p99_min_ms)}–${n2(l.delivery_p99_max_ms)})` : ''} | ${n2(l.ack_p50_ms)} / ${n2(l.ack_p99_ms)} / ${n2(l.ack_max_ms)} | ${l.lost} | ${l.duplicated} | ${l.unacked} | ${l.refused} (${l.shed ?? '–'}) | ${n0(l.server_cpu_pct)} | ${n0(l.db_cpu_pct)} | ${n0(l.loadgen_cpu_pct)} | ${n0(l.machine_busy_pct)} | ${n0(l.other_pct)} | ${n1(l.server_rss_mb)} | ${n0(l.flushes_per_s)} × ${n1(l.flush_mean_size)} | ${l.runs}${l.disturbed_runs ? ` (+${l.disturbed_runs} disturbed)` : ''} |`;
  for (const l of r.levels) rows.push(row(l, l.saturated ? ' (saturated)' : ''));
  if (r.overload) rows.push(row(r.overload, ' (overload)'));
  return rows;
}

function setupText(r: MessagesResult): string {
  const fn = { current: 'api.post_events', v1: 'the v1 send function (049c1cc)', naive: 'the one-message send function' }[
    r.send_function ?? 'current'
  ];
  return `SEND_BATCH_MAX=${r.batch_max}, SEND_LANES=${r.send_lanes ?? 2}, ${r.gateways ?? 1} gateway process${(r.gateways ?? 1) > 1 ? 'es' : ''}, ${fn}`;
}

function messageSections(f: Figures): string[] {
  const lines: string[] = [];
  const msg = f.messages;
  if (msg) {
    lines.push('', `### Messages, batched (${setupText(msg)}, SEND_BATCH_MS=${msg.batch_ms})`, '');
    lines.push(
      `${msg.rooms} rooms, ${msg.room_sockets} room sockets + ${msg.notification_sockets} notification sockets, ${msg.senders} senders at equal rates, ${msg.msg_bytes}-byte messages; ` +
        `each step: ${msg.warmup_ms} ms warm-up, ${msg.window_ms} ms measured window, ≤ ${msg.grace_ms} ms grace for acks and deliveries. Medians of the runs (spread in brackets); lost/dup/unacked/refused are totals. ` +
        'The overload row is the step at 1.5× the saturated offered load (capped at 18 msg/s per user).',
      '',
    );
    lines.push(...levelsTable(msg));
  }
  if (f.v1) lines.push('', `### Messages, v1 send function in the same run (${setupText(f.v1)})`, '', ...levelsTable(f.v1));
  const all = [f.batched, f.batchedV1, ...f.naive, f.narrow, ...f.gateways].filter((c): c is Capacity => !!c);
  if (all.length > 1 && f.batched) {
    lines.push(
      '',
      '### Capacities side by side',
      '',
      'Highest delivered rate of each configuration (median of the runs of its best step, min–max), the step it was reached at, and batched (1 gateway, current function) ÷ it.',
      '',
      '| configuration | max delivered msg/s | at offered | p99 there ms | server CPU % | PG CPU % | machine busy % | lost / dup | batched ÷ this |',
      '|---|---:|---:|---:|---:|---:|---:|---|---:|',
    );
    for (const c of all)
      lines.push(
        `| ${c.label}: ${setupText(c.result)} | ${spread(c.delivered, c.min, c.max, c.runs)} | ${n0(c.offered)} | ${n2(c.level.delivery_p99_ms)} | ${n0(c.level.server_cpu_pct)} | ${n0(c.level.db_cpu_pct)} | ${n0(c.level.machine_busy_pct)} | ${c.result.lost_total} / ${c.result.duplicated_total} | ${times(f.batched.delivered / c.delivered)} |`,
      );
  }
  for (const c of [...f.naive, f.narrow].filter((x): x is Capacity => !!x))
    lines.push('', `### Messages, ${c.label} (${setupText(c.result)})`, '', ...levelsTable(c.result));
  if (msg && f.bestNaive) {
    lines.push(
      '',
      `At equal offered load, batched and the best naive (${f.bestNaive.label}):`,
      '',
      '| offered msg/s | delivered batched / naive msg/s | batched ÷ naive | p99 delivery batched / naive ms | naive p99 ÷ batched p99 |',
      '|---:|---|---:|---|---:|',
    );
    for (const l of f.bestNaive.result.levels) {
      const b = levelAt(msg, l.offered);
      if (b)
        lines.push(
          `| ${n0(l.offered)} | ${n0(b.delivered_per_s)} / ${n0(l.delivered_per_s)} | ${n2(b.delivered_per_s / l.delivered_per_s)} | ${n2(b.delivery_p99_ms)} / ${n2(l.delivery_p99_ms)} | ${n1(l.delivery_p99_ms / b.delivery_p99_ms)} |`,
        );
    }
  }
  if (f.overloads.length) {
    lines.push(
      '',
      '### Past saturation: load shedding',
      '',
      'One step at 1.5× the saturated offered load. Each send lane holds at most `SEND_QUEUE_MAX` frames; a frame beyond that is answered at once with `error` `unavailable` (nothing stored; nobody in the bench retries it, so it counts as refused, never as lost).',
      '',
      '| configuration | offered msg/s | capacity msg/s | delivered msg/s | delivered ÷ capacity | refused `unavailable` | p99 of accepted ms | ack p99 ms | lost | dup |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const o of f.overloads)
      lines.push(
        `| ${o.label} | ${n0(o.step.offered)} | ${n0(o.capacity.delivered)} | ${spread(o.step.delivered_per_s, o.step.delivered_min_per_s, o.step.delivered_max_per_s, o.step.runs)} | ${n2(o.step.delivered_per_s / o.capacity.delivered)} | ${n0(o.step.shed)} | ${n2(o.step.delivery_p99_ms)} | ${n2(o.step.ack_p99_ms)} | ${o.step.lost} | ${o.step.duplicated} |`,
      );
  }
  for (const g of f.gateways) {
    lines.push(
      '',
      `### Messages over ${g.result.gateways} gateway processes (${setupText(g.result)})`,
      '',
      'The two members of every room are on different gateways: every message is committed by one process and delivered by another, through NOTIFY and its LISTEN connection. Server CPU is the sum over the gateway processes.',
      '',
      ...levelsTable(g.result),
    );
  }
  return lines;
}

function sendPathSection(f: Figures): string[] {
  const sp = f.sendpath;
  if (!f.spCases.length || !sp) return [];
  const lines = ['', '### Send path alone (current, v1 and naive send functions)', ''];
  lines.push(
    `Each function called directly with \`pg\`, back to back for ${sp.seconds} s per run, on the message scenarios' rooms, clients on disjoint rooms. ` +
      'current and v1: one call = one batcher flush = one transaction (1 client = one lane, as the server runs each lane); naive: one message per call, one transaction per message (autocommit), the clients are the commits in flight. ' +
      'msg/s is the median of the runs (min–max).' +
      (sp.skipped ? ` Stopped early: ${sp.skipped}.` : ''),
    '',
    '| function | batch | clients | ms per call | calls/s | msg/s | PG CPU % | current ÷ v1 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const c of f.spCases) {
    const v1 = c.function === 'current' ? f.spAt('v1', c.batch, c.clients) : undefined;
    lines.push(
      `| ${c.function} | ${c.batch} | ${c.clients} | ${n2(c.ms_per_call)} | ${n1(c.calls_per_s)} | ${spread(c.msgs_per_s, c.msgs_per_s_min, c.msgs_per_s_max, c.runs)} | ${n0(c.db_cpu_pct)} | ${v1 ? times(c.msgs_per_s / v1.msgs_per_s) : ''} |`,
    );
  }
  return lines;
}

/** Markdown for the generated part of bench/README.md (or the quick summary). */
export function markdown(dir: string): string {
  const envs = SCENARIOS.map((s) => readResult<unknown>(dir, s)).filter((e): e is Envelope<unknown> => !!e);
  if (envs.length === 0) return '_No results yet: run `npm run bench`._\n';
  const f = figures(dir);
  const latest = envs.reduce((a, b) => (a.date > b.date ? a : b));
  const m = latest.machine as Record<string, unknown>;
  const lines: string[] = [];
  lines.push(`Latest run: **${latest.date}** (${latest.mode} mode), command \`${latest.command}\`.`);
  lines.push('');
  lines.push(
    `Machine: ${m.cores} cores (${m.cpu_model}), ${m.memory_gib} GiB RAM, Linux ${m.kernel}, Node ${m.node}, open-files limit ${m.open_files_limit}. ` +
      `Code: commit ${m.commit ?? '?'}${m.uncommitted_server_changes ? ' with uncommitted changes in src/ or db/' : ''}. ` +
      `Server, PostgreSQL and the load generators (${(latest.config as { workers?: number }).workers ?? '?'} processes) all share these cores.`,
  );
  const runs = new Set(envs.map((e) => e.run_started ?? e.date));
  if (runs.size > 1)
    lines.push(
      '',
      'Scenario files come from different runs: ' + envs.map((e) => `${e.scenario} ${e.date} (\`${e.command}\`)`).join(', ') + '.',
    );
  lines.push('', '| target | goal | measured | |', '|---|---|---|---|');
  for (const h of headlines(dir)) lines.push(`| ${h.metric} | ${h.target} | ${h.value} | ${mark(h.ok)} |`);
  const prose = analysis(f, m);
  if (prose.length)
    lines.push(
      '',
      '### Where the limits are',
      '',
      'Generated from the results below (every figure is read from `bench/results/*.json`).',
      '',
      ...prose,
    );
  lines.push(...messageSections(f));
  const conn = f.connections;
  if (conn) {
    lines.push('', '### Connections', '');
    lines.push(
      `${conn.rooms} rooms × 2 members × ${conn.tabs_per_member} tabs: ${n0(conn.room_sockets)} room sockets + ${n0(conn.notification_sockets)} notification sockets, opened 128 at a time per load generator.` +
        (conn.note ? ` Note: ${conn.note}.` : ''),
      '',
      '| upgrades/s | upgrade p50 / p99 ms | RSS before → open MB | MB per 1,000 sockets | server CPU % while opening | PG CPU % | loadgen CPU % | failed | dropped while idle |',
      '|---:|---|---|---:|---:|---:|---:|---:|---:|',
      `| ${n0(conn.upgrades_per_s)} | ${n2(conn.upgrade_p50_ms)} / ${n2(conn.upgrade_p99_ms)} | ${n1(conn.rss_base_mb)} → ${n1(conn.rss_open_mb)} | ${n2(conn.rss_per_1000_sockets_mb)} | ${n0(conn.server_cpu_pct_while_opening)} | ${n0(conn.db_cpu_pct_while_opening)} | ${n0(conn.loadgen_cpu_pct_while_opening)} | ${conn.failed_total} | ${conn.dropped_while_idle} |`,
    );
  }
  const match = f.matching;
  if (match) {
    lines.push('', '### Matching', '');
    const inv = match.runs[0]?.invariants;
    lines.push(
      `${n0(match.users)} users with a notification socket each join at one instant (no same_country, no shared room: every pair compatible).`,
      '',
      '| joins/s | p50 / p99 / max ms | rooms created | invariants | server CPU % | PG CPU % |',
      '|---:|---|---:|---|---:|---:|',
      `| ${n0(match.joins_per_s)} | ${n2(match.join_p50_ms)} / ${n2(match.join_p99_ms)} / ${n2(match.join_max_ms)} | ${n0(match.rooms_created)} | ${match.invariants_ok ? 'all hold' : 'VIOLATED'} | ${n0(match.server_cpu_pct)} | ${n0(match.db_cpu_pct)} |`,
    );
    if (inv)
      lines.push(
        '',
        'Invariants checked (first run): ' +
          Object.entries(inv)
            .map(([k, v]) => `${k.replace(/_/g, ' ')} = ${v}`)
            .join('; ') +
          '.',
      );
  }
  const auth = f.auth;
  if (auth) {
    lines.push('', '### Auth', '');
    lines.push(
      `argon2id parameters read from a stored hash: \`${auth.argon2}\`. ${auth.concurrency} requests in flight.`,
      '',
      '| | per second | p50 ms | p99 ms | max ms | server CPU % | unloaded p50 ms (1 at a time) | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      `| register | ${n1(auth.register.per_s)} | ${n1(auth.register.p50_ms)} | ${n1(auth.register.p99_ms)} | ${n1(auth.register.max_ms)} | ${n0(auth.register.server_cpu_pct)} | ${n1(auth.unloaded.register_ms.p50)} | ${auth.register.non_2xx} |`,
      `| login | ${n1(auth.login.per_s)} | ${n1(auth.login.p50_ms)} | ${n1(auth.login.p99_ms)} | ${n1(auth.login.max_ms)} | ${n0(auth.login.server_cpu_pct)} | ${n1(auth.unloaded.login_ms.p50)} | ${auth.login.non_2xx} |`,
    );
  }
  const ceil = f.ceiling;
  if (ceil) {
    lines.push('', '### Database ceiling', '');
    lines.push(
      `${ceil.tool} against the same PostgreSQL (${ceil.postgres.split(' on ')[0]}; ${Object.entries(ceil.settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}), scratch database \`bench_ceiling\`, scripts in \`bench/pgbench/\`.`,
      '',
      'What these ceilings leave out, and the product pays: no listener draining the NOTIFY queue, no content ' +
        'beyond a short text, no room row lock or seq allocation, no membership or open-room check, no ' +
        'idempotency lookup by `client_id`, no unread counters, no envelope per message. The ceiling of this ' +
        "design's own send function (`api.post_events` called directly, no gateway) is the `Send path alone` table.",
      '',
      '| script | what one transaction does | clients | commits/s | rows/s | latency ms |',
      '|---|---|---:|---:|---:|---:|',
    );
    for (const c of ceil.cases)
      lines.push(`| ${c.script} | ${c.what} | ${c.clients} | ${n0(c.commits_per_s)} | ${n0(c.rows_per_s)} | ${n2(c.latency_ms)} |`);
  }
  const soak = f.soak;
  if (soak) {
    lines.push('', '### Soak: memory with sockets churning', '');
    lines.push(
      `${soak.duration_s} s on one fresh server process: ${soak.cycles} cycles, each opening a room socket and a notification socket for both members of ${soak.rooms_per_cycle} rooms, ` +
        `sending ${n0(soak.messages_offered_per_s)} msg/s through them for 4 s (all acked and delivered, as in the message scenarios), then closing them. ` +
        `Memory is sampled every few seconds after a full GC (\`process.memoryUsage()\` inside the server, bench/lib/memory-probe.ts); the slopes are least squares over the samples after the first fifth.`,
      '',
      '| verdict | live heap MB/min | heap MB first / min / max / last | RSS MB/min | RSS MB first / min / max / last | sockets opened | open failures | messages acked | lost | dup | unacked | refused | server CPU % | PG CPU % | other processes CPU % |',
      '|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${soak.verdict} | ${n2(soak.heap_slope_mb_per_min)} | ${n1(soak.heap_mb.first)} / ${n1(soak.heap_mb.min)} / ${n1(soak.heap_mb.max)} / ${n1(soak.heap_mb.last)} | ${n2(soak.rss_slope_mb_per_min)} | ${n1(soak.rss_mb.first)} / ${n1(soak.rss_mb.min)} / ${n1(soak.rss_mb.max)} / ${n1(soak.rss_mb.last)} | ${n0(soak.sockets_opened)} | ${soak.open_failures} | ${n0(soak.acked)} | ${soak.lost} | ${soak.duplicated} | ${soak.unacked} | ${soak.refused} | ${n0(soak.server_cpu_pct)} | ${n0(soak.db_cpu_pct)} | ${n0(soak.other_pct)} |`,
    );
    const step = Math.max(1, Math.ceil(soak.series.length / 12));
    const points = soak.series.filter((_, i) => i % step === 0 || i === soak.series.length - 1);
    lines.push('', '| s | ' + points.map((p) => p.s).join(' | ') + ' |', '|---|' + points.map(() => '---:').join('|') + '|');
    lines.push('| live heap MB | ' + points.map((p) => n1(p.heap_mb)).join(' | ') + ' |');
    lines.push('| RSS MB | ' + points.map((p) => n1(p.rss_mb)).join(' | ') + ' |');
  }
  lines.push(...sendPathSection(f));
  return lines.join('\n') + '\n';
}

const START = '<!-- results:start (generated by npm run bench; edits here are overwritten) -->';
const END = '<!-- results:end -->';

/** The generated block of a README's text (between the markers), if it has one. */
export function readmeBlock(text: string): string | undefined {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  return a >= 0 && b > a ? text.slice(a + START.length + 1, b) : undefined;
}

/** Replace the generated block of bench/README.md, keeping everything around it. */
export function updateReadme(readme: string, md: string): void {
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const block = `${START}\n${md}${END}`;
  const next =
    a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## Latest results\n\n${block}\n`;
  writeFileSync(readme, next);
  // the repository's formatter aligns markdown tables (npm run lint checks it): leave the file as it would
  const biome = path.join(path.dirname(readme), '..', 'node_modules', '.bin', 'biome');
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', readme], { stdio: 'ignore' });
}

/**
 * The text of a generated block with its tables' alignment undone (cells trimmed, separator rows
 * reduced to their colons), so a block as written and the same block formatted compare equal.
 */
export function unaligned(md: string): string {
  return md
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split('|')
            .map((cell) => cell.trim().replace(/^(:?)-+(:?)$/, '$1-$2'))
            .join('|')
        : line,
    )
    .join('\n');
}
