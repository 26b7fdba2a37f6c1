/**
 * "Where the limits are": the analysis of bench/README.md, written from the results so that every
 * figure it quotes is the one in the tables (it used to be hand-written, and drifted from them).
 * The wording names the bottleneck from the CPU figures: a machine near all of its cores is out of
 * CPU; a saturated step with CPU to spare points at serialization.
 */
import type { Capacity, Figures } from './figures.js';
import type { LevelRecord } from '../scenarios/messages.js';
import { n0, n1, n2, spread, times } from './format.js';
import { levelAt } from './figures.js';

/** A machine busier than this share of its cores is out of CPU. */
const CPU_BOUND = 0.9;
/** Several gateways "move the ceiling" when one of them delivers more than this × one gateway. */
const GATEWAYS_MOVE = 1.1;

/** Other processes using more than this (% of a core) during a step make its figures low. */
const BUSY_NEIGHBOURS = 30;

function bottleneck(c: Capacity, cores: number): string {
  const l = c.level;
  const shared =
    l.other_pct > BUSY_NEIGHBOURS
      ? `; other processes took ~${n0(l.other_pct)} % of a core meanwhile, so this is lower than a quiet machine gives`
      : '';
  const busy = `the machine at ~${n0(l.machine_busy_pct)} % of ${cores * 100} % (PostgreSQL ~${n0(l.db_cpu_pct)} %, server ~${n0(l.server_cpu_pct)} %, load generators ~${n0(l.loadgen_cpu_pct)} %, other processes ~${n0(l.other_pct)} %)`;
  return l.machine_busy_pct >= CPU_BOUND * cores * 100
    ? `the limit is the machine's ${cores} cores: ${busy}${shared}`
    : `CPU to spare (${busy}): the limit is serialization (commits in flight, the NOTIFY queue lock), not CPU${shared}`;
}

function capacityLine(c: Capacity): string {
  return `${spread(c.delivered, c.min, c.max, c.runs)} msg/s at ${n0(c.offered)} offered`;
}

/** CPU per delivered message at one step, in µs: a core's second ÷ the messages of that second. */
function cpuPerMessage(l: LevelRecord): string {
  const us = (pct: number) => n0((pct / 100) * (1e6 / l.delivered_per_s));
  return `server ~${us(l.server_cpu_pct)} µs, PostgreSQL ~${us(l.db_cpu_pct)} µs, load generators ~${us(l.loadgen_cpu_pct)} µs`;
}

/** The busiest step below saturation: where CPU per message is not inflated by refusals and queues. */
function busiestUnsaturated(levels: LevelRecord[]): LevelRecord | undefined {
  return levels.filter((l) => !l.saturated).reduce<LevelRecord | undefined>((a, l) => (!a || l.offered > a.offered ? l : a), undefined);
}

/** CPU per delivered message at the busiest step both send functions ran below saturation. */
function perMessage(b: Capacity, v1: Capacity | undefined): string {
  const step = busiestUnsaturated(b.result.levels);
  if (!step) return '';
  const old = v1?.result.levels.find((l) => l.offered === step.offered && !l.saturated);
  return (
    ` CPU per delivered message at ${n0(step.offered)} msg/s: ${cpuPerMessage(step)}` +
    (old ? ` (v1 at the same step: ${cpuPerMessage(old)})` : '') +
    '.'
  );
}

export function analysis(f: Figures, machine: Record<string, unknown>): string[] {
  const cores = Number(machine.cores) || 2;
  const out: string[] = [];
  const b = f.batched;
  if (b) {
    const below = b.result.levels.filter((l) => !l.saturated);
    out.push(
      `**Messages, batched: ${capacityLine(b)}, ${b.result.lost_total} lost / ${b.result.duplicated_total} duplicated over every step; ${bottleneck(b, cores)}.** ` +
        (below.length
          ? `Below saturation, p99 delivery: ${below.map((l) => `${n2(l.delivery_p99_ms)} ms at ${n0(l.offered)}`).join(', ')}.`
          : 'No step ran below saturation.') +
        (f.batchedV1
          ? ` The v1 send function (049c1cc), swapped in for the same steps of the same run: ${capacityLine(f.batchedV1)}; current ÷ v1 = ${times(f.currentOverV1)}.`
          : '') +
        perMessage(b, f.batchedV1),
    );
  }
  if (f.spCurrent) {
    const two = f.spAt('current', f.spCurrent.batch, 2);
    out.push(
      `**Send path alone: ${n0(f.spCurrent.msgs_per_s)} msg/s from one client** (batch ${f.spCurrent.batch}, ${n2(f.spCurrent.ms_per_call)} ms per call, PostgreSQL ~${n0(f.spCurrent.db_cpu_pct)} %)` +
        (two ? `, ${n0(two.msgs_per_s)} from two (the server's two lanes)` : '') +
        (f.spV1
          ? `; v1 at the same batch: ${n0(f.spV1.msgs_per_s)} (current ÷ v1 = ${times(f.spCurrent.msgs_per_s / f.spV1.msgs_per_s)})`
          : '') +
        (b ? `. Delivered end to end is ${n2(b.delivered / f.spCurrent.msgs_per_s)} of the one-client figure.` : '.'),
    );
  }
  if (f.bestNaive) {
    const n = f.bestNaive;
    out.push(
      `**Best one-commit-per-message design: ${capacityLine(n)}** with ${n.result.send_lanes} commits in flight (` +
        f.naive.map((c) => `${c.result.send_lanes} lanes: ${n0(c.delivered)}`).join(', ') +
        `), through the one-message send function; ${bottleneck(n, cores)}.` +
        (f.narrow ? ` The old narrow naive (2 lanes through the batch-shaped function): ${n0(f.narrow.delivered)}.` : '') +
        (b ? ` Batched ÷ best naive = ${times(f.batchedOverNaive)}` : '') +
        (b && f.narrow ? `; batched ÷ old narrow naive = ${times(f.batchedOverNarrow)}.` : '.') +
        (f.spBestNaive
          ? ` Alone, the one-message function does ${n0(f.spBestNaive.msgs_per_s)} msg/s at best (${f.spBestNaive.clients} in flight, ${n2(f.spBestNaive.ms_per_call)} ms per call; ` +
            f.spCases
              .filter((c) => c.function === 'naive')
              .map((c) => `${c.clients}: ${n0(c.msgs_per_s)}`)
              .join(', ') +
            `)` +
            (f.spBestNaive.clients < Math.max(...f.spCases.map((c) => c.clients))
              ? `: past ${f.spBestNaive.clients} in flight, more commits queue rather than add throughput (a commit that has sent a NOTIFY holds the cluster-wide notification queue lock through its WAL flush).`
              : ': throughput still grows with the commits in flight.')
          : ''),
    );
    const atEqual = b && levelAt(b.result, n.offered);
    if (atEqual)
      out.push(
        `At ${n0(n.offered)} msg/s offered, batched delivers ${n0(atEqual.delivered_per_s)} with p99 ${n2(atEqual.delivery_p99_ms)} ms; the best naive ${n0(n.level.delivered_per_s)} with p99 ${n2(n.level.delivery_p99_ms)} ms.`,
      );
  }
  for (const o of f.overloads) {
    const s = o.step;
    out.push(
      `**Past saturation (${o.label}): ${n0(s.offered)} msg/s offered, ${n0(s.delivered_per_s)} delivered = ${n2(s.delivered_per_s / o.capacity.delivered)} × its capacity (${n0(o.capacity.delivered)}).** ` +
        `${n0(s.shed)} messages were refused at once with \`unavailable\` (the send queue full), p99 of the accepted ones ${n2(s.delivery_p99_ms)} ms, lost ${s.lost}, duplicated ${s.duplicated}` +
        (s.unacked ? `, ${n0(s.unacked)} still waiting for their ack when the grace period ended` : '') +
        (s.acked_in_flight ? `, ${n0(s.acked_in_flight)} acked in its last second with the delivery on the way` : '') +
        '.',
    );
  }
  if (f.gateways.length && b) {
    out.push(
      `**Several gateways on one PostgreSQL:** ${[b, ...f.gateways]
        .map(
          (c) =>
            `${c.result.gateways ?? 1} → ${capacityLine(c)} (p99 there ${n2(c.level.delivery_p99_ms)} ms; servers ~${n0(c.level.server_cpu_pct)} %, PostgreSQL ~${n0(c.level.db_cpu_pct)} %, machine ~${n0(c.level.machine_busy_pct)} %)`,
        )
        .join('; ')}. ` +
        (f.gateways.every((g) => g.delivered <= GATEWAYS_MOVE * b.delivered)
          ? "More gateway processes do not raise the ceiling: every core is shared by the gateways, the database and the load generators, so the ceiling stays where the cores and the database put it, and each message now also crosses processes (the partner's gateway gets it through its LISTEN connection)."
          : `More gateway processes raised the ceiling (best: ${n0(Math.max(...f.gateways.map((g) => g.delivered)))} against ${n0(b.delivered)} with one): one gateway process was a limit.`),
    );
  }
  const conn = f.connections;
  if (conn)
    out.push(
      `**Upgrades: ${n0(conn.upgrades_per_s)}/s** (p99 ${n2(conn.upgrade_p99_ms)} ms; server ~${n0(conn.server_cpu_pct_while_opening)} %, load generators ~${n0(conn.loadgen_cpu_pct_while_opening)} % while opening: the client side of the handshakes competes for the same cores). ` +
        `**Memory: ${n2(conn.rss_per_1000_sockets_mb)} MB of server RSS per 1,000 idle sockets** (room + notification).`,
    );
  const match = f.matching;
  if (match)
    out.push(
      `**Matching: ${n0(match.joins_per_s)} joins/s** (${n0(match.users)} users at once, p99 ${n2(match.join_p99_ms)} ms, invariants ${match.invariants_ok ? 'holding' : 'VIOLATED'}): joins are serialized by the pool's advisory locks and batched into one transaction per arrival burst.`,
    );
  const auth = f.auth;
  if (auth)
    out.push(
      `**Auth: ${n1(auth.register.per_s)} registrations/s and ${n1(auth.login.per_s)} logins/s** at ${auth.concurrency} in flight (p99 ${n1(auth.register.p99_ms)} / ${n1(auth.login.p99_ms)} ms, unloaded ${n1(auth.unloaded.register_ms.p50)} ms): argon2id (${auth.argon2}) keeps the cores busy, by design.`,
    );
  return out.flatMap((p) => [p, '']).slice(0, -1);
}
