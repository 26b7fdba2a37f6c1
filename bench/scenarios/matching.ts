/**
 * Scenario 4 — matching: every user joins the pool at the same instant through HTTP (a barrier
 * across the load-generator processes), each with a notification socket open to receive
 * `matched`. Then the invariants are checked from three sides: the HTTP answers, the `matched`
 * events, and each user's GET /rooms/me (plus a direct look at app.pool_entries).
 * Users have no active room with each other and nobody asks for same_country, so every pair is
 * compatible: at most one user (odd count) may be left waiting.
 */
import pg from 'pg';
import type { Ctx } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import type { EventsResult, HttpReq, OpenResult, SocketSpec } from '../lib/protocol.js';
import { dist, median, round, type Dist } from '../lib/stats.js';
import { Runs } from '../lib/runs.js';

interface MatchRun {
  users: number;
  statuses: Record<string, number>;
  seconds: number;
  joins_per_s: number;
  join_ms: Dist;
  rooms_created: number;
  invariants: Record<string, number>;
  invariants_ok: boolean;
  cpu: ReturnType<typeof cpuDelta>;
}

/** Close every active room of these users (so they are all compatible again) and leave the pool. */
export async function clearRooms(ctx: Ctx, users: number[]): Promise<number> {
  const me = await ctx.http(
    users.map((u) => ({ method: 'GET', path: '/rooms/me', token: ctx.users[u]!.token })),
    16,
  );
  const del = new Map<string, string>();
  me.results.forEach((r, i) => {
    if (r.status === 200 && Array.isArray(r.body))
      for (const room of r.body as { id: string }[]) if (!del.has(room.id)) del.set(room.id, ctx.users[users[i]!]!.token!);
  });
  const res = await ctx.http(
    [...del].map(([id, token]) => ({ method: 'DELETE', path: `/rooms/${id}`, token })),
    16,
  );
  const bad = res.results.filter((r) => r.status !== 200);
  if (bad.length) throw new Error(`DELETE /rooms: ${bad.length} failed, e.g. ${bad[0]!.status} ${JSON.stringify(bad[0]!.body)}`);
  await ctx.http(
    users.map((u) => ({ method: 'POST', path: '/pool/leave', token: ctx.users[u]!.token })),
    16,
  );
  return del.size;
}

export async function matching(ctx: Ctx, users: number[]) {
  const pool = ctx.requirePool();
  ctx.requireServer();
  const runs = new Runs<MatchRun>(ctx);
  const closed = await clearRooms(ctx, users);
  ctx.log(`  closed ${closed} earlier rooms of the ${users.length} users`);
  let attempts = 0;
  while (runs.wanted) {
    const run = runs.kept.length;
    if (attempts++ > 0) await clearRooms(ctx, users);
    // one notification socket per user, in the process that will send its join
    const specs: SocketSpec[] = users.map((u) => ({ kind: 'notif', room: -1, member: 0, tab: 0, user: u, token: ctx.users[u]!.token! }));
    const W = pool.size;
    const parts: SocketSpec[][] = Array.from({ length: W }, () => []);
    for (const [i, s] of specs.entries()) parts[i % W]!.push(s);
    const op = await pool.each<OpenResult>((w) => ({ cmd: 'open', specs: parts[w]!, concurrency: 64 }));
    const openFailed = op.reduce((s, r) => s + r.failed, 0);
    if (openFailed) throw new Error(`notification sockets failed: ${JSON.stringify(op.map((r) => r.failures))}`);
    await pool.all<EventsResult>({ cmd: 'events' }); // drop anything received before the joins

    const reqs: HttpReq[] = users.map((u) => ({ method: 'POST', path: '/pool/join', token: ctx.users[u]!.token, body: {} }));
    await ctx.waitQuiet();
    const a = ctx.cpu();
    const startAt = Date.now() + 300;
    // all joins in flight at once: concurrency = every request of the process
    const r = await ctx.http(reqs, Math.ceil(reqs.length / W), { startAt });
    const cpu = cpuDelta(a, ctx.cpu());
    const secs = (r.t1 - r.t0) / 1000;
    const st: Record<string, number> = {};
    for (const x of r.results) st[x.status] = (st[x.status] ?? 0) + 1;
    const joinerRoom = new Map<number, string>(); // user → room from its 201
    const waiters = new Set<number>();
    r.results.forEach((x, i) => {
      if (x.status === 201) joinerRoom.set(users[i]!, x.body?.room_id);
      else if (x.status === 202) waiters.add(users[i]!);
    });

    // the waiters learn their match on the notification socket
    const matched = new Map<number, string[]>();
    const expected = new Set(joinerRoom.values()).size; // one waiter per room handed out by a 201
    const deadline = Date.now() + 10000;
    for (;;) {
      const ev = await pool.all<EventsResult>({ cmd: 'events' });
      for (const e of ev) for (const m of e.matched) if (m.rooms.length) matched.set(m.user, [...(matched.get(m.user) ?? []), ...m.rooms]);
      if ([...matched.values()].reduce((s, l) => s + l.length, 0) >= expected || Date.now() > deadline) break;
      await ctx.pause(100);
    }
    await ctx.pause(200); // a late duplicate would show up here
    for (const e of await pool.all<EventsResult>({ cmd: 'events' }))
      for (const m of e.matched) if (m.rooms.length) matched.set(m.user, [...(matched.get(m.user) ?? []), ...m.rooms]);

    // the users' own view
    const me = await ctx.http(
      users.map((u) => ({ method: 'GET', path: '/rooms/me', token: ctx.users[u]!.token })),
      16,
    );
    const roomsOf = new Map<number, string[]>();
    const membersOf = new Map<string, number>();
    me.results.forEach((x, i) => {
      const ids = x.status === 200 && Array.isArray(x.body) ? (x.body as { id: string }[]).map((y) => y.id) : [];
      roomsOf.set(users[i]!, ids);
      for (const id of ids) membersOf.set(id, (membersOf.get(id) ?? 0) + 1);
    });

    const created = new Set(joinerRoom.values());
    const roomIdsFrom201 = [...joinerRoom.values()];
    const matchedRooms = [...matched.values()].flat();
    const inv = {
      // a room handed to two joiners, or a user in two rooms, is a double match
      rooms_given_to_two_joiners: roomIdsFrom201.length - created.size,
      users_in_more_than_one_room: [...roomsOf.values()].filter((l) => l.length > 1).length,
      rooms_not_exactly_two_members: [...membersOf.values()].filter((n) => n !== 2).length,
      joiner_room_missing_from_rooms_me: [...joinerRoom].filter(([u, id]) => !(roomsOf.get(u) ?? []).includes(id)).length,
      // every 201 room has exactly one waiter told by `matched`, and that waiter got 202
      matched_events: matchedRooms.length,
      matched_events_duplicated: matchedRooms.length - new Set(matchedRooms).size,
      matched_events_for_unknown_rooms: matchedRooms.filter((id) => !created.has(id)).length,
      matched_events_to_joiners: [...matched.keys()].filter((u) => joinerRoom.has(u)).length,
      rooms_without_matched_event: [...created].filter((id) => !matchedRooms.includes(id)).length,
      // nobody compatible left waiting: all pairs are compatible here, so at most one waits
      users_left_waiting: [...roomsOf.values()].filter((l) => l.length === 0).length,
      pool_entries_left: NaN,
    };
    try {
      const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'chat' });
      await c.connect();
      const ids = users.map((u) => ctx.users[u]!.id).filter(Boolean);
      const q = await c.query<{ n: string }>('select count(*) as n from app.pool_entries where user_id = any($1::uuid[])', [ids]);
      inv.pool_entries_left = Number(q.rows[0]!.n);
      await c.end();
    } catch (e) {
      ctx.log(`  (pool_entries check skipped: ${(e as Error).message})`);
    }
    const ok =
      inv.rooms_given_to_two_joiners === 0 &&
      inv.users_in_more_than_one_room === 0 &&
      inv.rooms_not_exactly_two_members === 0 &&
      inv.joiner_room_missing_from_rooms_me === 0 &&
      inv.matched_events_duplicated === 0 &&
      inv.matched_events_for_unknown_rooms === 0 &&
      inv.matched_events_to_joiners === 0 &&
      inv.rooms_without_matched_event === 0 &&
      inv.users_left_waiting <= users.length % 2 &&
      (Number.isNaN(inv.pool_entries_left) || inv.pool_entries_left <= users.length % 2) &&
      (st['201'] ?? 0) + (st['202'] ?? 0) === users.length;
    const lat = dist(r.results.filter((x) => x.status === 201 || x.status === 202).map((x) => x.ms));
    const rec: MatchRun = {
      users: users.length,
      statuses: st,
      seconds: round(secs, 3),
      joins_per_s: Math.round(users.length / secs),
      join_ms: lat,
      rooms_created: created.size,
      invariants: inv,
      invariants_ok: ok,
      cpu,
    };
    ctx.log(
      `  run ${run + 1}: ${users.length} joins in ${rec.seconds} s = ${rec.joins_per_s}/s, p50/p99 ${lat.p50}/${lat.p99} ms, ${created.size} rooms, ${inv.users_left_waiting} left waiting, cpu server ${cpu.server_pct}% db ${cpu.db_pct}% machine ${cpu.machine_busy_pct}% (other ${cpu.other_pct}%), invariants ${ok ? 'OK' : 'VIOLATED ' + JSON.stringify(inv)}`,
    );
    await pool.all({ cmd: 'close' });
    if (!runs.keep(rec, cpu.other_pct)) continue;
  }
  const m = (f: (r: MatchRun) => number) => round(median(runs.kept.map(f)), 2);
  return {
    users: users.length,
    joins_per_s: m((r) => r.joins_per_s),
    join_p50_ms: m((r) => r.join_ms.p50),
    join_p99_ms: m((r) => r.join_ms.p99),
    join_max_ms: m((r) => r.join_ms.max),
    rooms_created: m((r) => r.rooms_created),
    invariants_ok: runs.all.every((r) => r.invariants_ok),
    server_cpu_pct: m((r) => r.cpu.server_pct),
    db_cpu_pct: m((r) => r.cpu.db_pct),
    machine_busy_pct: m((r) => r.cpu.machine_busy_pct),
    runs: runs.kept,
    disturbed_runs: runs.disturbed,
  };
}

export type MatchingResult = Awaited<ReturnType<typeof matching>>;
