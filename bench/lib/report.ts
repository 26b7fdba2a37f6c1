/** Results files (bench/results/<scenario>.json) and the generated tables of bench/README.md. */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { AuthResult } from '../scenarios/auth.js';
import type { CeilingResult } from '../scenarios/ceiling.js';
import type { ConnectionsResult } from '../scenarios/connections.js';
import type { MatchingResult } from '../scenarios/matching.js';
import type { LevelRecord, MessagesResult } from '../scenarios/messages.js';
import type { SendPathResult } from '../scenarios/sendpath.js';
import { SOAK_LIMITS, type SoakResult } from '../scenarios/soak.js';

export const SCENARIOS = [
  'ceiling',
  'auth',
  'sendpath',
  'messages',
  'messages_v1',
  'naive',
  'gateways',
  'connections',
  'matching',
  'soak',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** What a run without --only measures: the soak takes 10 minutes (quick: 1) and runs only when named. */
export const DEFAULT_SCENARIOS: Scenario[] = SCENARIOS.filter((s) => s !== 'soak');

export interface Envelope<T> {
  scenario: Scenario;
  mode: 'quick' | 'full';
  date: string;
  /** when the run that wrote this file started: files of one run share it */
  run_started?: string;
  command: string;
  machine: Record<string, unknown>;
  config: Record<string, unknown>;
  result: T;
}

export function writeResult<T>(dir: string, env: Envelope<T>): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${env.scenario}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(env, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

export function readResult<T>(dir: string, s: Scenario): Envelope<T> | undefined {
  const f = path.join(dir, `${s}.json`);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Envelope<T>;
  } catch {
    return undefined;
  }
}

const n0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const n1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : (Math.round(v * 10) / 10).toLocaleString('en-US'));
const n2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : (Math.round(v * 100) / 100).toString());
const mark = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? '**met**' : '**missed**');

function levelAt(levels: LevelRecord[] | undefined, offered: number): LevelRecord | undefined {
  return levels?.find((l) => l.offered === offered);
}

export interface Headline {
  metric: string;
  target: string;
  value: string;
  ok?: boolean;
}

/** The target table, computed from whatever results exist. */
export function headlines(dir: string): Headline[] {
  const ceil = readResult<CeilingResult>(dir, 'ceiling')?.result;
  const msg = readResult<MessagesResult>(dir, 'messages')?.result;
  const naive = readResult<MessagesResult>(dir, 'naive')?.result;
  const conn = readResult<ConnectionsResult>(dir, 'connections')?.result;
  const match = readResult<MatchingResult>(dir, 'matching')?.result;
  const auth = readResult<AuthResult>(dir, 'auth')?.result;
  const sp = readResult<SendPathResult>(dir, 'sendpath')?.result;
  const soak = readResult<SoakResult>(dir, 'soak')?.result;
  const out: Headline[] = [];
  if (soak)
    out.push({
      metric: `memory over a ${Math.round(soak.duration_s / 60)}-minute soak with sockets churning`,
      target: `flat: live heap < ${SOAK_LIMITS.heap} MB/min, RSS < ${SOAK_LIMITS.rss} MB/min`,
      value: `${soak.verdict}: heap ${n2(soak.heap_slope_mb_per_min)} MB/min (${n1(soak.heap_mb.first)} → ${n1(soak.heap_mb.last)} MB), RSS ${n2(soak.rss_slope_mb_per_min)} MB/min (${n1(soak.rss_mb.first)} → ${n1(soak.rss_mb.last)} MB); ${n0(soak.sockets_opened)} sockets opened and closed, ${n0(soak.acked)} messages, lost ${soak.lost}`,
      ok: soak.verdict === 'flat' && soak.lost === 0 && soak.duplicated === 0,
    });
  if (msg) {
    const clean = msg.lost_total === 0 && msg.duplicated_total === 0 && !msg.id_mismatch_total;
    out.push({
      metric: 'delivered messages/s (max over the offered-load steps)',
      target: '≥ 10,000 with 0 lost / 0 duplicated',
      value: `${n0(msg.max_delivered_per_s)} (at ${n0(msg.max_delivered_at_offered)} offered); lost ${msg.lost_total}, duplicated ${msg.duplicated_total}, delivered ≠ acked id ${msg.id_mismatch_total ?? 'not checked'}`,
      ok: msg.max_delivered_per_s >= 10000 && clean,
    });
    const l2k = levelAt(msg.levels, 2000);
    if (l2k)
      out.push({
        metric: 'p99 send → partner delivery at 2,000 msg/s offered',
        target: '≤ 25 ms',
        value: `${n2(l2k.delivery_p99_ms)} ms (p50 ${n2(l2k.delivery_p50_ms)}, max ${n2(l2k.delivery_max_ms)}; ack p99 ${n2(l2k.ack_p99_ms)} ms)`,
        ok: l2k.delivery_p99_ms <= 25,
      });
  }
  if (msg && naive) {
    const ratio = msg.max_delivered_per_s / naive.max_delivered_per_s;
    out.push({
      metric: 'batched ÷ naive (SEND_BATCH_MAX=1) max delivered msg/s',
      target: '≥ 5×',
      value: `${n2(ratio)}× (${n0(msg.max_delivered_per_s)} vs ${n0(naive.max_delivered_per_s)}; naive lost ${naive.lost_total}, dup ${naive.duplicated_total})`,
      ok: ratio >= 5,
    });
  }
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
  if (match)
    out.push({
      metric: 'pool joins/s (all users at once)',
      target: '≥ 1,000, invariants hold',
      value: `${n0(match.joins_per_s)} (${n0(match.users)} users, ${n0(match.rooms_created)} rooms, p99 ${n2(match.join_p99_ms)} ms; invariants ${match.invariants_ok ? 'OK' : 'VIOLATED'})`,
      ok: match.joins_per_s >= 1000 && match.invariants_ok,
    });
  if (auth) {
    out.push({
      metric: `register / login throughput (${auth.argon2}, ${auth.concurrency} concurrent)`,
      target: 'report',
      value: `register ${n1(auth.register.per_s)}/s p99 ${n1(auth.register.p99_ms)} ms; login ${n1(auth.login.per_s)}/s p99 ${n1(auth.login.p99_ms)} ms`,
    });
  }
  if (ceil) {
    out.push({
      metric: 'database ceiling (pgbench, 8 clients; no listener, no room lock, no idempotency, no content checks)',
      target: 'report',
      value: `naive insert+NOTIFY ${n0(ceil.naive_ceiling_rows_per_s)} rows/s; 40-row batch + 1 NOTIFY ${n0(ceil.batched_ceiling_rows_per_s)} rows/s; plain insert ${n0(ceil.plain_insert_rows_per_s)} rows/s`,
    });
    if (msg)
      out.push({
        metric: 'delivered msg/s ÷ batched ceiling (ins_batch, 8 clients)',
        target: 'report',
        value: `${n2(msg.max_delivered_per_s / ceil.batched_ceiling_rows_per_s)} (${n0(msg.max_delivered_per_s)} ÷ ${n0(ceil.batched_ceiling_rows_per_s)})`,
      });
    if (naive)
      out.push({
        metric: 'naive delivered msg/s ÷ naive ceiling (ins_notify, 8 clients)',
        target: 'report',
        value: `${n2(naive.max_delivered_per_s / ceil.naive_ceiling_rows_per_s)} (${n0(naive.max_delivered_per_s)} ÷ ${n0(ceil.naive_ceiling_rows_per_s)})`,
      });
  }
  const best = sp?.cases
    .filter((c) => c.clients === 1)
    .reduce<SendPathResult['cases'][number] | undefined>((a, b) => (!a || b.msgs_per_s > a.msgs_per_s ? b : a), undefined);
  if (best) {
    out.push({
      metric: 'send path alone: api.post_events back to back, 1 client (as the batcher)',
      target: 'report',
      value: `${n0(best.msgs_per_s)} msg/s at batch ${best.batch} (${n2(best.ms_per_call)} ms per call)`,
    });
    if (msg)
      out.push({
        metric: 'delivered msg/s ÷ send-path ceiling',
        target: 'report',
        value: `${n2(msg.max_delivered_per_s / best.msgs_per_s)} (${n0(msg.max_delivered_per_s)} ÷ ${n0(best.msgs_per_s)})`,
      });
  }
  return out;
}

function levelsTable(levels: LevelRecord[]): string[] {
  const rows = [
    '| offered msg/s | delivered msg/s | delivery p50 / p95 / p99 / max ms | ack p50 / p99 / max ms | lost | dup | unacked | refused | server CPU % | PG CPU % | loadgen CPU % | machine busy % | other processes CPU % | server RSS MB | flushes/s × mean size | runs |',
    '|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const l of levels)
    rows.push(
      `| ${n0(l.offered)}${l.saturated ? ' (saturated)' : ''} | ${n0(l.delivered_per_s)} | ${n2(l.delivery_p50_ms)} / ${n2(l.delivery_p95_ms)} / ${n2(l.delivery_p99_ms)} / ${n2(l.delivery_max_ms)} | ${n2(l.ack_p50_ms)} / ${n2(l.ack_p99_ms)} / ${n2(l.ack_max_ms)} | ${l.lost} | ${l.duplicated} | ${l.unacked} | ${l.refused} | ${n0(l.server_cpu_pct)} | ${n0(l.db_cpu_pct)} | ${n0(l.loadgen_cpu_pct)} | ${n0(l.machine_busy_pct)} | ${n0(l.other_pct)} | ${n1(l.server_rss_mb)} | ${n0(l.flushes_per_s)} × ${n1(l.flush_mean_size)} | ${l.runs}${l.disturbed_runs ? ` (+${l.disturbed_runs} disturbed)` : ''} |`,
    );
  return rows;
}

/** Markdown for the generated part of bench/README.md (or the quick summary). */
export function markdown(dir: string): string {
  const envs = SCENARIOS.map((s) => readResult<unknown>(dir, s)).filter((e): e is Envelope<unknown> => !!e);
  if (envs.length === 0) return '_No results yet: run `npm run bench`._\n';
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

  const msg = readResult<MessagesResult>(dir, 'messages')?.result;
  const naive = readResult<MessagesResult>(dir, 'naive')?.result;
  if (msg) {
    lines.push('', `### Messages, batched (SEND_BATCH_MAX=${msg.batch_max}, SEND_BATCH_MS=${msg.batch_ms})`, '');
    lines.push(
      `${msg.rooms} rooms, ${msg.room_sockets} room sockets + ${msg.notification_sockets} notification sockets, ${msg.senders} senders at equal rates, ${msg.msg_bytes}-byte messages; ` +
        `each step: ${msg.warmup_ms} ms warm-up, ${msg.window_ms} ms measured window, ≤ ${msg.grace_ms} ms grace for acks and deliveries. Medians of the runs; lost/dup/unacked are totals.`,
      '',
    );
    lines.push(...levelsTable(msg.levels));
  }
  if (naive) {
    lines.push('', `### Messages, naive baseline (SEND_BATCH_MAX=1: one transaction and one NOTIFY per message)`, '');
    lines.push(...levelsTable(naive.levels));
    if (msg) {
      lines.push(
        '',
        'At equal offered load:',
        '',
        '| offered msg/s | delivered batched / naive msg/s | batched ÷ naive | p99 delivery batched / naive ms | naive p99 ÷ batched p99 |',
        '|---:|---|---:|---|---:|',
      );
      for (const l of naive.levels) {
        const b = levelAt(msg.levels, l.offered);
        if (b)
          lines.push(
            `| ${n0(l.offered)} | ${n0(b.delivered_per_s)} / ${n0(l.delivered_per_s)} | ${n2(b.delivered_per_s / l.delivered_per_s)} | ${n2(b.delivery_p99_ms)} / ${n2(l.delivery_p99_ms)} | ${n1(l.delivery_p99_ms / b.delivery_p99_ms)} |`,
          );
      }
    }
  }
  const conn = readResult<ConnectionsResult>(dir, 'connections')?.result;
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
  const match = readResult<MatchingResult>(dir, 'matching')?.result;
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
  const auth = readResult<AuthResult>(dir, 'auth')?.result;
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
  const ceil = readResult<CeilingResult>(dir, 'ceiling')?.result;
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
  const soak = readResult<SoakResult>(dir, 'soak')?.result;
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
  const sp = readResult<SendPathResult>(dir, 'sendpath')?.result;
  if (sp?.cases.length) {
    lines.push('', '### Send path alone (`api.post_events`)', '');
    lines.push(
      `The server's send-path function called directly with \`pg\`, back to back for ${sp.seconds} s, on the message scenarios' rooms (one call = one batcher flush = one transaction). 1 client = one flush at a time, as the server does; 2 clients use disjoint rooms.` +
        (sp.skipped ? ` Stopped early: ${sp.skipped}.` : ''),
      '',
      '| batch | clients | ms per call | calls/s | msg/s | PG CPU % | server CPU % |',
      '|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const c of sp.cases)
      lines.push(
        `| ${c.batch} | ${c.clients} | ${n2(c.ms_per_call)} | ${n1(c.calls_per_s)} | ${n0(c.msgs_per_s)} | ${n0(c.db_cpu_pct)} | ${n0(c.server_cpu_pct)} |`,
      );
  }
  return lines.join('\n') + '\n';
}

const START = '<!-- results:start (generated by npm run bench; edits here are overwritten) -->';
const END = '<!-- results:end -->';

/** Replace the generated block of bench/README.md, keeping everything around it. */
export function updateReadme(readme: string, md: string): void {
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const block = `${START}\n${md}${END}`;
  const next =
    a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## Latest results\n\n${block}\n`;
  writeFileSync(readme, next);
}
