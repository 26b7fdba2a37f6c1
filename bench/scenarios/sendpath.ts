/**
 * The send path's own ceiling in the database: the server's `api.post_events(jsonb)` (one call =
 * one flush of the batcher = one transaction) called directly with `pg`, back to back, with the
 * batch sizes the batcher produces, on the rooms of the message scenarios. One client is what the
 * server does today (one flush at a time); two clients on disjoint rooms show what overlapping
 * flushes would give. Read with the pgbench figures: this is what the real function commits,
 * pgbench what PostgreSQL commits for a bare insert.
 */
import pg from 'pg';
import type { Ctx, Room } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import { median, round } from '../lib/stats.js';

export interface SendPathCase {
  batch: number;
  clients: number;
  calls_per_s: number;
  msgs_per_s: number;
  ms_per_call: number;
  db_cpu_pct: number;
  server_cpu_pct: number;
}

export async function sendPath(ctx: Ctx, rooms: Room[], seconds: number) {
  const cases: SendPathCase[] = [];
  const content = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor';
  let n = 0;
  try {
    for (const clients of [1, 2]) {
      for (const batch of [1, 16, 64, 256]) {
        const runs: SendPathCase[] = [];
        for (let run = 0; run < ctx.cfg.runs; run++) {
          const conns = await Promise.all(
            Array.from({ length: clients }, async () => {
              const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'chat' });
              await c.connect();
              return c;
            }),
          );
          await ctx.waitQuiet();
          const a = ctx.cpu();
          const t0 = performance.now();
          const end = t0 + seconds * 1000;
          let calls = 0;
          await Promise.all(
            conns.map(async (c, ci) => {
              // disjoint rooms per client, so two clients never wait on each other's room locks
              const mine = rooms.filter((_, i) => i % clients === ci);
              let k = 0;
              while (performance.now() < end) {
                const events = [];
                for (let i = 0; i < batch; i++) {
                  const r = mine[k++ % mine.length]!;
                  const side = (k >> 1) % 2;
                  events.push({
                    i,
                    kind: 'message',
                    room: r.id,
                    user: ctx.users[r.members[side]]!.id,
                    origin: 'bench:probe',
                    content,
                    client_id: `sp${ctx.tag}.${n++}`,
                  });
                }
                await c.query('select api.post_events($1) as results', [JSON.stringify(events)]);
                calls++;
              }
            }),
          );
          const el = (performance.now() - t0) / 1000;
          const cpu = cpuDelta(a, ctx.cpu());
          await Promise.all(conns.map((c) => c.end()));
          runs.push({
            batch,
            clients,
            calls_per_s: round(calls / el, 1),
            msgs_per_s: Math.round((calls * batch) / el),
            ms_per_call: round((el * 1000 * clients) / calls, 2),
            db_cpu_pct: cpu.db_pct,
            server_cpu_pct: cpu.server_pct,
          });
        }
        const m = (f: (r: SendPathCase) => number) => median(runs.map(f));
        const rec: SendPathCase = {
          batch,
          clients,
          calls_per_s: round(
            m((r) => r.calls_per_s),
            1,
          ),
          msgs_per_s: Math.round(m((r) => r.msgs_per_s)),
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
        };
        ctx.log(
          `  api.post_events batch ${batch} × ${clients} client(s): ${rec.ms_per_call} ms per call, ${rec.msgs_per_s} msg/s (PostgreSQL CPU ${rec.db_cpu_pct}%)`,
        );
        cases.push(rec);
      }
    }
    return { function: 'api.post_events(jsonb)', seconds, cases };
  } catch (e) {
    ctx.log(`  send-path probe skipped: ${(e as Error).message}`);
    return { function: 'api.post_events(jsonb)', seconds, cases, skipped: (e as Error).message };
  }
}

export type SendPathResult = Awaited<ReturnType<typeof sendPath>>;
