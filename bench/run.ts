/**
 * Benchmark runner: `npm run bench` (full) or `npm run bench -- --quick` (< 2 minutes).
 *
 * Starts the real server (`node dist/src/server.js`) as a child process with its own embedded
 * PostgreSQL in .data/bench, forks load-generator processes (dist/bench/loadgen.js) that drive it
 * through HTTP and WebSocket on 127.0.0.1 only, and writes bench/results/<scenario>.json plus the
 * summary in bench/README.md (quick mode: bench/results/quick/ and bench/results/quick/SUMMARY.md).
 * The baseline send functions of bench/baselines/ are installed into the bench's database only and
 * swapped in as api.post_events for the scenarios that measure them (bench/lib/send-function.ts).
 *
 * Options: --quick | --full, --only=ceiling,auth,sendpath,messages,messages_v1,naive,gateways,connections,matching,soak
 * (soak only when named), --runs=N, --rooms=N, --workers=N, --levels=2000,5000,… (every message scenario),
 * --duration=ms, --warmup=ms, --grace=ms,
 * --tabs=N, --batch-max=N, --batch-ms=N, --keep-data, --profile (server --cpu-prof),
 * --profile-loadgen, --no-readme, --server-pg (let the server start its embedded PostgreSQL
 * instead of the bench's own), --report (only regenerate bench/README.md from bench/results/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ctx, FULL, QUICK, type Config } from './lib/context.js';
import { machineInfo } from './lib/proc.js';
import { headlines, markdown, updateReadme } from './lib/report.js';
import { DEFAULT_SCENARIOS, SCENARIOS, type Scenario, writeResult } from './lib/results.js';
import { installBaselines, restoreSendFunction, type SendFunction, withSendFunction } from './lib/send-function.js';
import { sleep, stopStalePostgres } from './lib/server.js';
import { WorkerPool } from './lib/workers.js';
import { auth } from './scenarios/auth.js';
import { ceiling } from './scenarios/ceiling.js';
import { connections } from './scenarios/connections.js';
import { matching } from './scenarios/matching.js';
import { gateways } from './scenarios/gateways.js';
import { messages } from './scenarios/messages.js';
import { naive } from './scenarios/naive.js';
import { sendPath } from './scenarios/sendpath.js';
import { makeRooms } from './scenarios/setup.js';
import { soak } from './scenarios/soak.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '..', '..');

function parseArgs(argv: string[]) {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  return flags;
}

async function main() {
  const flags = parseArgs(process.argv.slice(2));
  const known = new Set([
    'quick',
    'full',
    'only',
    'runs',
    'rooms',
    'workers',
    'levels',
    'duration',
    'warmup',
    'grace',
    'tabs',
    'batch-max',
    'batch-ms',
    'keep-data',
    'profile',
    'profile-loadgen',
    'no-readme',
    'server-pg',
    'report',
    'help',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  if (flags.has('help')) {
    console.log(readmeHelp);
    return;
  }
  if (flags.has('report')) {
    // only regenerate the tables of bench/README.md from bench/results/*.json
    updateReadme(path.join(root, 'bench', 'README.md'), markdown(path.join(root, 'bench', 'results')));
    console.log('updated bench/README.md from bench/results/');
    return;
  }
  const cfg: Config = { ...(flags.has('quick') ? QUICK : FULL) };
  const num = (k: string) => (flags.has(k) ? Number(flags.get(k)) : undefined);
  cfg.runs = num('runs') ?? cfg.runs;
  cfg.rooms = num('rooms') ?? cfg.rooms;
  cfg.workers = num('workers') ?? cfg.workers;
  cfg.durationMs = num('duration') ?? cfg.durationMs;
  cfg.warmupMs = num('warmup') ?? cfg.warmupMs;
  cfg.graceMs = num('grace') ?? cfg.graceMs;
  cfg.tabs = num('tabs') ?? cfg.tabs;
  cfg.batchMax = num('batch-max') ?? cfg.batchMax;
  cfg.batchMs = num('batch-ms') ?? cfg.batchMs;
  if (flags.has('levels')) cfg.levels = cfg.naiveLevels = cfg.gatewayLevels = flags.get('levels')!.split(',').map(Number);
  // the server refuses more than 20 messages/s per user: never offer more than 18
  const maxOffered = cfg.rooms * 2 * 18;
  cfg.levels = cfg.levels.filter((l) => l <= maxOffered);
  cfg.naiveLevels = cfg.naiveLevels.filter((l) => l <= maxOffered);
  cfg.gatewayLevels = cfg.gatewayLevels.filter((l) => l <= maxOffered);
  const only = new Set<Scenario>(flags.has('only') ? (flags.get('only')!.split(',') as Scenario[]) : DEFAULT_SCENARIOS);
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);

  const prof = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const dataDir = path.join(root, '.data', 'bench');
  const ctx = new Ctx(cfg, root, {
    dataDir,
    serverNodeArgs: flags.has('profile') ? prof(path.join(dataDir, 'prof', 'server')) : [],
    workerNodeArgs: flags.has('profile-loadgen') ? prof(path.join(dataDir, 'prof', 'loadgen')) : [],
  });
  ctx.serverOwnsDb = flags.has('server-pg');
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  const machine = { ...machineInfo(), ...codeVersion() };
  const started = Date.now();
  ctx.log(
    `${cfg.mode} mode: ${[...only].join(', ')}; ${cfg.rooms} rooms, ${cfg.workers} load generators, levels ${cfg.levels.join('/')}, ${cfg.runs} run(s) each`,
  );
  ctx.log(`machine: ${machine.cores} cores ${machine.cpu_model}, ${machine.memory_gib} GiB, open files ${machine.open_files_limit}`);

  if (!existsSync(path.join(root, 'dist', 'src', 'server.js')))
    throw new Error('dist/src/server.js is missing: run `npm run build` first (npm run bench does)');
  if (!flags.has('keep-data')) {
    if (stopStalePostgres(dataDir)) await sleep(3000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  mkdirSync(ctx.logDir, { recursive: true });

  const save = <T>(scenario: Scenario, result: T) => {
    const f = writeResult(ctx.resultsDir, {
      scenario,
      mode: cfg.mode,
      date: new Date().toISOString(),
      run_started: new Date(started).toISOString(),
      command,
      machine,
      config: { ...cfg },
      result,
    });
    ctx.log(`wrote ${path.relative(root, f)}`);
  };

  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    // a baseline send function left in place would outlive the run (--keep-data, --server-pg)
    if (ctx.pgPort)
      await restoreSendFunction(ctx).catch((e: Error) =>
        ctx.log(`could not restore api.post_events (${e.message}); the next run restores it at its start`),
      );
    await ctx.stopServer().catch(() => undefined);
    await ctx.pool?.stop().catch(() => undefined);
    await ctx.stopDatabase().catch(() => undefined);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      ctx.log(`${sig}: stopping`);
      void cleanup().then(() => process.exit(130));
    });

  try {
    ctx.pool = new WorkerPool(cfg.workers, ctx.distDir, ctx.workerNodeArgs);
    await ctx.startServer();

    const needUsers = [...only].some((s) => s !== 'ceiling');
    // a run that died (--keep-data, --server-pg) may have left a baseline as api.post_events
    await restoreSendFunction(ctx);
    if (only.has('sendpath') || only.has('messages_v1') || only.has('naive')) await installBaselines(ctx);
    if (only.has('ceiling')) {
      ctx.log('scenario: database ceiling');
      save('ceiling', await ceiling(ctx));
    }
    if (needUsers) {
      ctx.log(`scenario: auth (registering the ${cfg.rooms * 2} users the other scenarios use)`);
      const a = await auth(ctx, cfg.rooms * 2);
      if (only.has('auth')) save('auth', a);
    }
    const needRooms = [...only].some((s) => s !== 'ceiling' && s !== 'auth' && s !== 'matching');
    if (needRooms) ctx.log('setup: pairing users into rooms through /pool/join');
    const rooms = needRooms
      ? await makeRooms(
          ctx,
          ctx.users.filter((u) => u.token && u.pseudo.startsWith('u')).map((u) => u.idx),
        )
      : [];
    if (only.has('sendpath')) {
      ctx.log('scenario: send path alone (api.post_events called directly)');
      save('sendpath', await sendPath(ctx, rooms, cfg.mode === 'quick' ? 0.3 : 3));
    }
    const batched = (label: string, send_function: SendFunction) => ({
      label,
      send_function,
      send_lanes: 2,
      send_queue_max: 2048,
      gateways: 1,
    });
    if (only.has('messages')) {
      ctx.log(`scenario: messages, batched (SEND_BATCH_MAX=${cfg.batchMax})`);
      save('messages', await messages(ctx, batched('batched', 'current'), rooms, cfg.levels));
    }
    if (only.has('messages_v1')) {
      if (ctx.server?.opts.batchMax !== cfg.batchMax || ctx.moreGateways.length) await ctx.startServer();
      ctx.log(`scenario: messages, batched through the v1 send function (049c1cc) swapped in (SEND_BATCH_MAX=${cfg.batchMax})`);
      save('messages_v1', await withSendFunction(ctx, 'v1', () => messages(ctx, batched('batched v1', 'v1'), rooms, cfg.levels)));
    }
    if (only.has('naive')) save('naive', await naive(ctx, rooms, cfg.naiveLevels));
    if (only.has('gateways')) save('gateways', await gateways(ctx, rooms, cfg.gatewayLevels));
    if (only.has('connections')) {
      ctx.log(`scenario: connections (${rooms.length} rooms × 2 members × ${cfg.tabs} tabs)`);
      save('connections', await connections(ctx, rooms));
    }
    if (only.has('soak')) {
      ctx.log(
        `scenario: soak (${Math.round(cfg.soakMs / 1000)} s of sockets churning and messages flowing; memory sampled every ${cfg.soakSampleMs / 1000} s)`,
      );
      save('soak', await soak(ctx, rooms));
    }
    if (only.has('matching')) {
      // on one gateway with the default settings (connections and soak start fresh servers of their own)
      if (ctx.server?.opts.batchMax !== cfg.batchMax || ctx.moreGateways.length || ctx.server?.opts.env) await ctx.startServer();
      const users = ctx.users.filter((u) => u.token && u.pseudo.startsWith('u')).map((u) => u.idx);
      ctx.log(`scenario: matching (${users.length} users at once)`);
      save('matching', await matching(ctx, users));
    }
  } finally {
    await cleanup();
  }

  const md = markdown(ctx.resultsDir);
  if (cfg.mode === 'full') {
    if (!flags.has('no-readme')) {
      updateReadme(path.join(root, 'bench', 'README.md'), md);
      ctx.log('updated bench/README.md');
    }
  } else {
    mkdirSync(ctx.resultsDir, { recursive: true });
    writeFileSync(path.join(ctx.resultsDir, 'SUMMARY.md'), md);
    ctx.log(`wrote ${path.relative(root, path.join(ctx.resultsDir, 'SUMMARY.md'))}`);
  }
  console.log('');
  for (const h of headlines(ctx.resultsDir))
    console.log(`${h.ok === undefined ? '   ' : h.ok ? ' ok' : 'MISS'}  ${h.metric}: ${h.value}  [target ${h.target}]`);
  ctx.log(
    `done: total ${Math.round((Date.now() - started) / 1000)} s (${cfg.mode} mode); server logs in ${path.relative(root, ctx.logDir)}`,
  );
}

/** Which server code was measured: the commit, and whether src/ or db/ had uncommitted changes. */
function codeVersion(): { commit: string; uncommitted_server_changes: boolean } {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'db']);
  return {
    commit: head.status === 0 ? head.stdout.trim() : 'unknown',
    uncommitted_server_changes: dirty.status === 0 && dirty.stdout.trim() !== '',
  };
}

const readmeHelp = `usage: npm run bench [-- --quick|--full] [--only=${SCENARIOS.join(',')}] [--runs=N] [--rooms=N]
  [--workers=N] [--levels=a,b,c] [--duration=ms] [--warmup=ms] [--grace=ms] [--tabs=N]
  [--batch-max=N] [--batch-ms=N] [--keep-data] [--profile] [--profile-loadgen] [--no-readme] [--server-pg] [--report]
See bench/README.md.`;

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
