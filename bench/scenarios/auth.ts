/**
 * Scenario 5 — auth: register and login throughput and latency with the server's real argon2id
 * parameters. The users registered here are the ones the other scenarios use, so the hash is paid
 * once per user. Registration runs in `runs` equal chunks; the report gives the median chunk.
 */
import pg from 'pg';
import { newUsers, type Ctx, type User } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import type { HttpReq, HttpRes } from '../lib/protocol.js';
import { dist, median, round } from '../lib/stats.js';

function registerReq(u: User): HttpReq {
  return { method: 'POST', path: '/auth/register', body: { pseudo: u.pseudo, email: u.email, country: u.country, password: u.password } };
}

function statuses(rs: HttpRes[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const r of rs) o[r.status] = (o[r.status] ?? 0) + 1;
  return o;
}

async function measured(ctx: Ctx, reqs: HttpReq[], conc: number) {
  const W = ctx.requirePool().size;
  await ctx.waitQuiet();
  const a = ctx.cpu();
  const r = await ctx.http(reqs, Math.max(1, Math.round(conc / W)));
  const cpu = cpuDelta(a, ctx.cpu());
  const ok = r.results.filter((x) => x.status >= 200 && x.status < 300);
  const secs = (r.t1 - r.t0) / 1000;
  return {
    requests: reqs.length,
    ok: ok.length,
    statuses: statuses(r.results),
    per_s: round(reqs.length / secs, 1),
    latency_ms: dist(ok.map((x) => x.ms)),
    cpu,
    results: r.results,
  };
}

type Measured = Omit<Awaited<ReturnType<typeof measured>>, 'results'>;

function strip<T extends { results: unknown }>(x: T): Omit<T, 'results'> {
  const { results: _r, ...rest } = x;
  void _r;
  return rest;
}

export async function auth(ctx: Ctx, nUsers: number) {
  const cfg = ctx.cfg;
  // unloaded latency: one request at a time
  const single = newUsers(ctx, cfg.authSingle, 's');
  const regSingle = await ctx.httpSequential(single.map(registerReq));
  const loginSingle = await ctx.httpSequential(
    single.map((u) => ({ method: 'POST', path: '/auth/login', body: { identifier: u.pseudo, password: u.password } }) as HttpReq),
  );

  // the bulk: every user the other scenarios need, in `runs` chunks at fixed concurrency
  const users = newUsers(ctx, nUsers, 'u');
  const chunks: User[][] = [];
  const per = Math.ceil(users.length / cfg.runs);
  for (let i = 0; i < users.length; i += per) chunks.push(users.slice(i, i + per));
  const regRuns: Measured[] = [];
  for (const chunk of chunks) {
    const m = await measured(ctx, chunk.map(registerReq), cfg.authConcurrency);
    m.results.forEach((r, i) => {
      if (r.status === 201 && r.body?.token) {
        chunk[i]!.token = r.body.token;
        chunk[i]!.id = r.body.user?.id;
      }
    });
    ctx.log(`  register ×${chunk.length} @${cfg.authConcurrency}: ${m.per_s}/s p99 ${m.latency_ms.p99} ms ${JSON.stringify(m.statuses)}`);
    regRuns.push(strip(m));
  }
  const failed = users.filter((u) => !u.token).length;
  if (failed) throw new Error(`${failed} registrations failed; see the server log`);

  const loginUsers = Array.from({ length: cfg.authLogins }, (_, i) => users[i % users.length]!);
  const loginRuns: Measured[] = [];
  const lper = Math.ceil(loginUsers.length / cfg.runs);
  for (let i = 0; i < loginUsers.length; i += lper) {
    const part = loginUsers.slice(i, i + lper);
    const m = await measured(
      ctx,
      part.map((u, j) => ({ method: 'POST', path: '/auth/login', body: { identifier: j % 2 ? u.email : u.pseudo, password: u.password } })),
      cfg.authConcurrency,
    );
    ctx.log(`  login ×${part.length} @${cfg.authConcurrency}: ${m.per_s}/s p99 ${m.latency_ms.p99} ms ${JSON.stringify(m.statuses)}`);
    loginRuns.push(strip(m));
  }

  // the argon2id parameters actually in use, read from a stored hash
  let argon2 = 'unknown';
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'chat' });
    await c.connect();
    const r = await c.query<{ h: string }>('select password_hash as h from app.users limit 1');
    await c.end();
    const m = /^\$(argon2id)\$v=(\d+)\$([^$]+)\$/.exec(r.rows[0]?.h ?? '');
    if (m) argon2 = `${m[1]} v=${m[2]} ${m[3]}`;
  } catch (e) {
    argon2 = `unknown (${(e as Error).message})`;
  }

  const med = (runs: typeof regRuns) => ({
    per_s: round(median(runs.map((r) => r.per_s)), 1),
    p50_ms: round(median(runs.map((r) => r.latency_ms.p50))),
    p99_ms: round(median(runs.map((r) => r.latency_ms.p99))),
    max_ms: round(Math.max(...runs.map((r) => r.latency_ms.max))),
    server_cpu_pct: round(median(runs.map((r) => r.cpu.server_pct)), 1),
    machine_busy_pct: round(median(runs.map((r) => r.cpu.machine_busy_pct)), 1),
    non_2xx: runs.reduce((s, r) => s + (r.requests - r.ok), 0),
  });
  return {
    argon2,
    concurrency: cfg.authConcurrency,
    register: { ...med(regRuns), runs: regRuns },
    login: { ...med(loginRuns), runs: loginRuns },
    unloaded: {
      register_ms: dist(regSingle.filter((r) => r.status === 201).map((r) => r.ms)),
      login_ms: dist(loginSingle.filter((r) => r.status === 200).map((r) => r.ms)),
      statuses: { register: statuses(regSingle), login: statuses(loginSingle) },
    },
  };
}

export type AuthResult = Awaited<ReturnType<typeof auth>>;
