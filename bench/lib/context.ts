/** Shared state of one bench run: configuration, the server child, the load generators, users and rooms. */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpReq, HttpRes, HttpResult, SocketSpec } from './protocol.js';
import { startPostgres, type BenchPostgres } from './postgres.js';
import { cpuDelta, cpuSnapshot, readStat, type CpuSnapshot } from './proc.js';
import { freePort, ServerProcess, sleep } from './server.js';
import type { WorkerPool } from './workers.js';

export interface Config {
  mode: 'quick' | 'full';
  /** rooms (pairs of users) used by the message, connection and matching scenarios */
  rooms: number;
  workers: number;
  /** offered loads (msg/s) stepped through by the message scenarios */
  levels: number[];
  /** the same for the naive baselines (one commit per message: a lower ceiling, finer steps) */
  naiveLevels: number[];
  /** the same for the several-gateways scenario */
  gatewayLevels: number[];
  /** commits in flight (SEND_LANES) of the naive baselines with the one-message function */
  naiveLanes: number[];
  /** gateway processes of the gateways scenario */
  gatewayCounts: number[];
  /** overload steps (1.5× a saturated step) the run may take: each holds the send queues full for a while */
  overloadSteps: number;
  warmupMs: number;
  durationMs: number;
  graceMs: number;
  /** runs per offered level / per scenario; the report gives medians */
  runs: number;
  msgBytes: number;
  /** room sockets per member in the connections scenario (tabs) */
  tabs: number;
  connIdleMs: number;
  authConcurrency: number;
  authLogins: number;
  authSingle: number;
  ceilingSeconds: number;
  batchMax: number;
  batchMs: number;
  /** the soak: how long sockets churn while memory is sampled, and how often */
  soakMs: number;
  soakSampleMs: number;
  /** stop stepping once delivered < this fraction of offered */
  saturation: number;
  /** before a measurement, wait at most this long for other processes to quiet down */
  quietWaitMs: number;
  /** a run during which other processes used more than this (% of a core) is disturbed… */
  maxOtherPct: number;
  /** …and repeated, at most this many times per run (the disturbed records are kept apart) */
  retries: number;
}

export const QUICK: Config = {
  mode: 'quick',
  rooms: 200,
  workers: 2,
  levels: [2000, 7000],
  naiveLevels: [2000],
  gatewayLevels: [7000],
  naiveLanes: [32],
  gatewayCounts: [2],
  overloadSteps: 1,
  warmupMs: 500,
  durationMs: 1500,
  graceMs: 5000,
  runs: 1,
  msgBytes: 64,
  tabs: 2,
  connIdleMs: 1000,
  authConcurrency: 8,
  authLogins: 100,
  authSingle: 5,
  ceilingSeconds: 1,
  batchMax: 256,
  batchMs: 2,
  soakMs: 60_000,
  soakSampleMs: 2_000,
  saturation: 0.9,
  quietWaitMs: 0,
  maxOtherPct: 30,
  retries: 0,
};

export const FULL: Config = {
  ...QUICK,
  mode: 'full',
  rooms: 1000,
  levels: [1000, 2000, 5000, 7500, 10000, 12500, 15000, 20000, 25000, 30000, 35000],
  naiveLevels: [1000, 2000, 3000, 4000, 5000, 7500, 10000],
  gatewayLevels: [1000, 2000, 5000, 7500, 10000, 12500, 15000, 20000, 25000, 30000, 35000],
  naiveLanes: [2, 8, 32],
  gatewayCounts: [2, 4],
  overloadSteps: 100,
  tabs: 5,
  connIdleMs: 10000,
  authLogins: 1200,
  ceilingSeconds: 5,
  warmupMs: 2000,
  durationMs: 8000,
  graceMs: 15000,
  runs: 3,
  authSingle: 10,
  soakMs: 600_000,
  soakSampleMs: 5_000,
  quietWaitMs: 30000,
  retries: 2,
};

export interface User {
  idx: number;
  pseudo: string;
  email: string;
  country: string;
  password: string;
  token?: string;
  id?: string;
}

export interface Room {
  idx: number;
  id: string;
  /** user indexes of the two members */
  members: [number, number];
}

export const COUNTRIES = ['FR', 'NG', 'US', 'BR', 'JP', 'DE', 'IN', 'KE', 'MX', 'CA', 'ES', 'IT', 'EG', 'AR', 'PL', 'SE'];

export class Ctx {
  readonly cfg: Config;
  readonly root: string;
  readonly distDir: string;
  readonly dataDir: string;
  readonly resultsDir: string;
  readonly logDir: string;
  readonly jwtSecret = randomBytes(48).toString('hex');
  readonly tag = randomBytes(4).toString('hex');
  readonly serverNodeArgs: string[];
  readonly workerNodeArgs: string[];
  server?: ServerProcess;
  /** more gateway processes on the same database (the gateways scenario); `server` is the first */
  moreGateways: ServerProcess[] = [];
  pool?: WorkerPool;
  /** the bench's own PostgreSQL (unless the server is asked to start its embedded one) */
  pg?: BenchPostgres;
  /** let the server start its own embedded PostgreSQL instead (restarts then restart it too) */
  serverOwnsDb = false;
  pgPort = 0;
  users: User[] = [];
  rooms: Room[] = [];
  serverStarts: { batchMax: number; lanes?: string; ms: number }[] = [];
  /** overload steps taken so far (at most cfg.overloadSteps) */
  overloadsTaken = 0;
  private serverSeq = 0;

  constructor(cfg: Config, root: string, opts: { serverNodeArgs?: string[]; workerNodeArgs?: string[]; dataDir?: string }) {
    this.cfg = cfg;
    this.root = root;
    this.distDir = path.join(root, 'dist', 'bench');
    this.dataDir = opts.dataDir ?? path.join(root, '.data', 'bench');
    this.resultsDir = path.join(root, 'bench', 'results', ...(cfg.mode === 'quick' ? ['quick'] : []));
    this.logDir = path.join(this.dataDir, 'logs');
    this.serverNodeArgs = opts.serverNodeArgs ?? [];
    this.workerNodeArgs = opts.workerNodeArgs ?? [];
  }

  log(msg: string): void {
    const t = new Date().toISOString().slice(11, 19);
    process.stdout.write(`[bench ${t}] ${msg}\n`);
  }

  /** Start the bench's PostgreSQL (once per run) in <dataDir>/postgres. */
  async startDatabase(): Promise<void> {
    if (this.serverOwnsDb || this.pg) return;
    this.pgPort = await freePort();
    const logFile = path.join(this.logDir, 'postgres.log');
    const t0 = performance.now();
    this.pg = await startPostgres(path.join(this.dataDir, 'postgres'), this.pgPort, (s) => appendFileSync(logFile, s));
    this.log(`PostgreSQL ready on 127.0.0.1:${this.pgPort} in ${Math.round(performance.now() - t0)} ms (pid ${this.pg.pid()})`);
  }

  async stopDatabase(): Promise<void> {
    await this.pg?.stop();
    this.pg = undefined;
  }

  /** (Re)start the server with a given batch cap, on the same database. */
  async startServer(
    batchMax = this.cfg.batchMax,
    extra: { nodeArgs?: string[]; env?: Record<string, string> } = {},
  ): Promise<ServerProcess> {
    await this.stopServer();
    await this.startDatabase();
    if (!this.pgPort) this.pgPort = await freePort();
    const s = await this.spawnServer(batchMax, extra);
    this.server = s;
    this.pgPort = s.pgPort;
    if (this.pool) await this.pool.init(s.baseUrl, s.wsUrl);
    return s;
  }

  /**
   * `n` gateway processes on the same database, each with its own port (the load generators'
   * default is the first; openPairs spreads sockets over all of them).
   */
  async startGateways(n: number, batchMax = this.cfg.batchMax): Promise<ServerProcess[]> {
    if (this.serverOwnsDb && n > 1) throw new Error("several gateways need the bench's own PostgreSQL (drop --server-pg)");
    await this.startServer(batchMax);
    // the database is migrated by now: the others only check it (under the start-up lock)
    this.moreGateways = await Promise.all(Array.from({ length: n - 1 }, () => this.spawnServer(batchMax)));
    return this.gateways();
  }

  /** Every gateway process running now. */
  gateways(): ServerProcess[] {
    return this.server ? [this.server, ...this.moreGateways] : [];
  }

  private async spawnServer(batchMax: number, extra: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<ServerProcess> {
    const port = await freePort();
    const s = new ServerProcess({
      root: this.root,
      dataDir: this.dataDir,
      port,
      pgPort: this.pgPort,
      jwtSecret: this.jwtSecret,
      databaseUrl: this.pg?.url('chat'),
      batchMax,
      batchMs: this.cfg.batchMs,
      logFile: path.join(this.logDir, `server-${++this.serverSeq}.log`),
      nodeArgs: [...this.serverNodeArgs, ...(extra.nodeArgs ?? [])],
      env: extra.env,
    });
    const lanes = extra.env?.SEND_LANES;
    this.log(
      `starting server (SEND_BATCH_MAX=${batchMax}${lanes ? `, SEND_LANES=${lanes}` : ''}) on 127.0.0.1:${port}, PostgreSQL on ${this.pgPort}${this.pg ? '' : ' (embedded in the server)'}`,
    );
    await s.start();
    this.serverStarts.push({ batchMax, ...(lanes ? { lanes } : {}), ms: Math.round(s.startMs) });
    this.log(`server ready in ${Math.round(s.startMs)} ms (pid ${s.pid})`);
    return s;
  }

  /** Stops every gateway process. */
  async stopServer(): Promise<void> {
    if (this.server) {
      if (this.pool) await this.pool.all({ cmd: 'close' }).catch(() => undefined);
      await Promise.all(this.gateways().map((g) => g.stop()));
      this.server = undefined;
      this.moreGateways = [];
    }
  }

  requireServer(): ServerProcess {
    if (!this.server) throw new Error('server not started');
    return this.server;
  }

  requirePool(): WorkerPool {
    if (!this.pool) throw new Error('load generators not started');
    return this.pool;
  }

  /** Split requests across the load generators (round robin), run them, return results in input order. */
  async http(
    reqs: HttpReq[],
    concurrencyPerWorker: number,
    opts: { startAt?: number; keepBodies?: boolean } = {},
  ): Promise<{ results: HttpRes[]; t0: number; t1: number }> {
    const pool = this.requirePool();
    const W = pool.size;
    const parts: HttpReq[][] = Array.from({ length: W }, () => []);
    for (const [i, r] of reqs.entries()) parts[i % W]!.push(r);
    const out = await pool.each<HttpResult>((w) => ({ cmd: 'http', reqs: parts[w]!, concurrency: concurrencyPerWorker, ...opts }));
    const results = new Array<HttpRes>(reqs.length);
    for (const [w, o] of out.entries()) for (const [j, r] of o.results.entries()) results[j * W + w] = r;
    return { results, t0: Math.min(...out.map((o) => o.t0)), t1: Math.max(...out.map((o) => o.t1)) };
  }

  /** Sequential requests in one load generator. */
  async httpSequential(reqs: HttpReq[]): Promise<HttpRes[]> {
    const pool = this.requirePool();
    const r = await pool.workers[0]!.call<HttpResult>({ cmd: 'http', reqs, concurrency: 1 });
    return r.results;
  }

  /** Worker that owns a room (both members' sockets live in one process). */
  workerOfRoom(room: number): number {
    return room % this.requirePool().size;
  }

  splitSpecs(specs: SocketSpec[], byUser = false): SocketSpec[][] {
    const W = this.requirePool().size;
    const parts: SocketSpec[][] = Array.from({ length: W }, () => []);
    for (const s of specs) parts[byUser || s.room < 0 ? s.user % W : s.room % W]!.push(s);
    return parts;
  }

  /**
   * The machine is shared: before a measurement, wait (bounded) until processes other than ours
   * use less than `maxOtherPct` of one core, and say so when they do not.
   */
  async waitQuiet(maxOtherPct = 25, maxWaitMs = this.cfg.quietWaitMs): Promise<number> {
    // quick mode does not wait: each run still records what other processes used meanwhile
    if (maxWaitMs <= 0) return NaN;
    const t0 = Date.now();
    let said = false;
    for (;;) {
      const a = this.cpu();
      await sleep(500);
      const d = cpuDelta(a, this.cpu());
      if (d.other_pct <= maxOtherPct) return d.other_pct;
      if (Date.now() - t0 >= maxWaitMs) {
        this.log(`  other processes still use ${d.other_pct}% of a core; measuring anyway (see other_pct in the results)`);
        return d.other_pct;
      }
      if (!said)
        this.log(`  other processes use ${d.other_pct}% of a core; waiting up to ${Math.round(maxWaitMs / 1000)} s for a quiet machine`);
      said = true;
    }
  }

  /** CPU counters of the server (every gateway process), the database and the load generators (see proc.ts). */
  cpu(): CpuSnapshot {
    const snap = cpuSnapshot(this.server?.pid, this.pool?.pids ?? [], this.pg?.pid());
    for (const g of this.moreGateways) snap.server += readStat(g.pid)?.cpu ?? 0;
    return snap;
  }

  async pause(ms: number): Promise<void> {
    await sleep(ms);
  }
}

export function newUsers(ctx: Ctx, n: number, prefix: string): User[] {
  const start = ctx.users.length;
  const out: User[] = [];
  for (let i = 0; i < n; i++) {
    const idx = start + i;
    const pseudo = `${prefix}${ctx.tag}_${idx}`;
    out.push({
      idx,
      pseudo,
      email: `${pseudo.toLowerCase()}@bench.example.org`,
      country: COUNTRIES[Math.floor(Math.random() * COUNTRIES.length)]!,
      password: `bench-pw-${ctx.tag}-${idx}`,
    });
  }
  ctx.users.push(...out);
  return out;
}
