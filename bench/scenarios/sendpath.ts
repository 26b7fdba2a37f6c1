/**
 * The send path's own ceiling in the database, for three send functions measured in one run:
 * - current: the server's `api.post_events(jsonb)` (one call = one flush of the batcher = one
 *   transaction), batches of 1/16/64/256, from 1 client (one flush at a time, as one lane does) and
 *   from 2 clients on disjoint rooms (two lanes);
 * - v1: the same at commit 049c1cc (bench/baselines/post_events_v1.sql), same batches and clients;
 * - naive: the best one-commit-per-message design (bench/baselines/post_message_naive.sql), one
 *   message per call and per transaction (autocommit), with 1/2/8/32 clients in flight.
 * All called directly with `pg`, back to back, on the message scenarios' rooms. Read with the pgbench
 * figures: this is what the real functions commit, pgbench what PostgreSQL commits for a bare insert.
 */
import type pg from 'pg';
import type { Ctx, Room } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import { forgetMessages, ownerClient } from '../lib/send-function.js';
import { median, round } from '../lib/stats.js';

export type SendPathFunction = 'current' | 'v1' | 'naive';

export interface SendPathCase {
  function: SendPathFunction;
  batch: number;
  clients: number;
  calls_per_s: number;
  msgs_per_s: number;
  /** lowest and highest msg/s of the runs (msgs_per_s is their median) */
  msgs_per_s_min: number;
  msgs_per_s_max: number;
  ms_per_call: number;
  db_cpu_pct: number;
  server_cpu_pct: number;
  runs: number;
}

const CONTENT = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor';

/** The cases of one run, in report order. */
function plan(): { function: SendPathFunction; batch: number; clients: number }[] {
  const out: { function: SendPathFunction; batch: number; clients: number }[] = [];
  for (const fn of ['current', 'v1'] as const)
    for (const clients of [1, 2]) for (const batch of [1, 16, 64, 256]) out.push({ function: fn, batch, clients });
  for (const clients of [1, 2, 8, 32]) out.push({ function: 'naive', batch: 1, clients });
  return out;
}

/** One call of the case's function with `batch` messages on the client's next rooms. */
type Caller = (c: pg.Client, next: () => { room: Room; side: 0 | 1; clientId: string }) => Promise<void>;

function caller(ctx: Ctx, fn: SendPathFunction, batch: number): Caller {
  const userId = (r: Room, side: 0 | 1) => ctx.users[r.members[side]]!.id;
  if (fn === 'naive')
    return async (c, next) => {
      const m = next();
      await c.query('select bench_naive.post_message($1, $2, $3, $4, $5)', [
        m.room.id,
        userId(m.room, m.side),
        CONTENT,
        m.clientId,
        'bench:probe',
      ]);
    };
  const sql = fn === 'current' ? 'select api.post_events($1) as results' : 'select bench_v1.post_events($1) as results';
  return async (c, next) => {
    const events = [];
    for (let i = 0; i < batch; i++) {
      const m = next();
      events.push({
        i,
        kind: 'message',
        room: m.room.id,
        user: userId(m.room, m.side),
        origin: 'bench:probe',
        content: CONTENT,
        client_id: m.clientId,
      });
    }
    await c.query(sql, [JSON.stringify(events)]);
  };
}

async function measure(ctx: Ctx, rooms: Room[], seconds: number, p: ReturnType<typeof plan>[number], seq: { n: number }) {
  const conns = await Promise.all(Array.from({ length: p.clients }, () => ownerClient(ctx)));
  try {
    const call = caller(ctx, p.function, p.batch);
    await ctx.waitQuiet();
    const a = ctx.cpu();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let calls = 0;
    await Promise.all(
      conns.map(async (c, ci) => {
        // disjoint rooms per client, so clients never wait on each other's room locks
        const mine = rooms.filter((_, i) => i % p.clients === ci);
        let k = 0;
        const next = () => {
          const room = mine[k % mine.length]!;
          const side = ((k++ / mine.length) | 0) % 2 === 0 ? 0 : 1;
          return { room, side: side as 0 | 1, clientId: `sp${ctx.tag}.${seq.n++}` };
        };
        while (performance.now() < end) {
          await call(c, next);
          calls++;
        }
      }),
    );
    const el = (performance.now() - t0) / 1000;
    const cpu = cpuDelta(a, ctx.cpu());
    return {
      calls_per_s: calls / el,
      msgs_per_s: (calls * p.batch) / el,
      ms_per_call: (el * 1000 * p.clients) / calls,
      db_cpu_pct: cpu.db_pct,
      server_cpu_pct: cpu.server_pct,
    };
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
}

export async function sendPath(ctx: Ctx, rooms: Room[], seconds: number) {
  const cases: SendPathCase[] = [];
  const seq = { n: 0 };
  try {
    for (const p of plan()) {
      await forgetMessages(ctx);
      const runs: Awaited<ReturnType<typeof measure>>[] = [];
      for (let run = 0; run < ctx.cfg.runs; run++) runs.push(await measure(ctx, rooms, seconds, p, seq));
      const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
      const rec: SendPathCase = {
        ...p,
        calls_per_s: round(
          m((r) => r.calls_per_s),
          1,
        ),
        msgs_per_s: Math.round(m((r) => r.msgs_per_s)),
        msgs_per_s_min: Math.round(Math.min(...runs.map((r) => r.msgs_per_s))),
        msgs_per_s_max: Math.round(Math.max(...runs.map((r) => r.msgs_per_s))),
        ms_per_call: round(
          m((r) => r.ms_per_call),
          2,
        ),
        db_cpu_pct: round(
          m((r) => r.db_cpu_pct),
          1,
        ),
        server_cpu_pct: round(
          m((r) => r.server_cpu_pct),
          1,
        ),
        runs: runs.length,
      };
      ctx.log(
        `  ${p.function} batch ${p.batch} × ${p.clients} client(s): ${rec.ms_per_call} ms per call, ${rec.msgs_per_s} msg/s (PostgreSQL CPU ${rec.db_cpu_pct}%)`,
      );
      cases.push(rec);
    }
    return { functions: FUNCTIONS, seconds, cases };
  } catch (e) {
    ctx.log(`  send-path probe skipped: ${(e as Error).message}`);
    return { functions: FUNCTIONS, seconds, cases, skipped: (e as Error).message };
  }
}

/** What each function name of the results stands for. */
const FUNCTIONS: Record<SendPathFunction, string> = {
  current: 'api.post_events(jsonb), as the server runs it now',
  v1: 'bench_v1.post_events(jsonb): api.post_events at commit 049c1cc (bench/baselines/post_events_v1.sql)',
  naive: 'bench_naive.post_message(…): one message, one transaction, one NOTIFY (bench/baselines/post_message_naive.sql)',
};

export type SendPathResult = Awaited<ReturnType<typeof sendPath>>;
