/**
 * Scenario 6 — the database's own ceiling: the pgbench scripts of bench/pgbench/ against the same
 * embedded PostgreSQL the server uses (scratch database bench_ceiling). Without a pgbench binary,
 * an equivalent closed-loop driver written with `pg` runs the same statements.
 */
import { spawnSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Ctx } from '../lib/context.js';
import { cpuDelta } from '../lib/proc.js';
import { median, round } from '../lib/stats.js';

interface Case {
  script: string;
  clients: number;
  rowsPerTxn: number;
  what: string;
}

const CASES: Case[] = [
  { script: 'ins_plain.sql', clients: 8, rowsPerTxn: 1, what: 'insert 1 row, no NOTIFY' },
  { script: 'ins_notify.sql', clients: 1, rowsPerTxn: 1, what: 'insert 1 row + row-trigger NOTIFY (naive design)' },
  { script: 'ins_notify.sql', clients: 8, rowsPerTxn: 1, what: 'insert 1 row + row-trigger NOTIFY (naive design)' },
  { script: 'ins_batch_rowtrig.sql', clients: 8, rowsPerTxn: 40, what: '40 rows, 40 row-trigger NOTIFYs, one commit' },
  { script: 'ins_batch.sql', clients: 8, rowsPerTxn: 40, what: '40 rows, one statement-trigger NOTIFY, one commit' },
];

interface CaseRecord {
  script: string;
  what: string;
  clients: number;
  rows_per_txn: number;
  seconds: number;
  commits_per_s: number;
  rows_per_s: number;
  latency_ms: number;
  runs: { tps: number; rows_per_s: number; latency_ms: number; db_cpu_pct: number; machine_busy_pct: number }[];
}

function findPgbench(): string | undefined {
  for (const cand of [
    process.env.PGBENCH,
    'pgbench',
    '/usr/bin/pgbench',
    '/usr/lib/postgresql/16/bin/pgbench',
    '/usr/lib/postgresql/15/bin/pgbench',
  ]) {
    if (!cand) continue;
    const r = spawnSync(cand, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return cand;
  }
  return undefined;
}

function runPgbench(
  bin: string,
  ctx: Ctx,
  file: string,
  clients: number,
  seconds: number,
): Promise<{ tps: number; latency_ms: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const args = [
      '-n',
      '-h',
      '127.0.0.1',
      '-p',
      String(ctx.pgPort),
      '-U',
      'postgres',
      '-f',
      file,
      '-c',
      String(clients),
      '-j',
      String(Math.min(clients, 2)),
      '-T',
      String(seconds),
      'bench_ceiling',
    ];
    const p = spawn(bin, args, { env: { ...process.env, PGPASSWORD: 'postgres' } });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (out += b));
    p.on('error', reject);
    p.on('exit', (code) => {
      const tps = /tps = ([\d.]+) \((?:without|excluding)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      if (code !== 0 || !tps) return reject(new Error(`pgbench failed (${code}): ${out.slice(-800)}`));
      resolve({ tps: Number(tps[1]), latency_ms: lat ? Number(lat[1]) : NaN, raw: out });
    });
  });
}

/** The same scripts without pgbench: `\set r random(1, 1000)` then the statement with :r bound. */
async function runWithPg(ctx: Ctx, file: string, clients: number, seconds: number): Promise<{ tps: number; latency_ms: number }> {
  const text = readFileSync(file, 'utf8');
  const stmt = text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('\\'))
    .join('\n');
  const sql = stmt.replace(/:r\b/g, '$1::int');
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'bench_ceiling' });
      await c.connect();
      return c;
    }),
  );
  let txns = 0;
  let latSum = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < end) {
        const s = performance.now();
        await c.query(sql, [1 + Math.floor(Math.random() * 1000)]);
        latSum += performance.now() - s;
        txns++;
      }
    }),
  );
  const el = (performance.now() - t0) / 1000;
  await Promise.all(conns.map((c) => c.end()));
  return { tps: txns / el, latency_ms: latSum / Math.max(1, txns) };
}

export async function ceiling(ctx: Ctx) {
  const dir = path.join(ctx.root, 'bench', 'pgbench');
  const admin = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'postgres' });
  await admin.connect();
  const version = (await admin.query<{ v: string }>('select version() as v')).rows[0]!.v;
  const settings = (
    await admin.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('synchronous_commit','fsync','wal_sync_method','shared_buffers','max_connections')",
    )
  ).rows;
  await admin.query('drop database if exists bench_ceiling with (force)');
  await admin.query('create database bench_ceiling');
  await admin.end();
  const db = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'bench_ceiling' });
  await db.connect();
  await db.query(readFileSync(path.join(dir, 'setup.sql'), 'utf8'));
  await db.end();

  const bin = findPgbench();
  const tool = bin
    ? `${spawnSync(bin, ['--version'], { encoding: 'utf8' })
        .stdout.trim()
        .replace(/ \(PostgreSQL\)/, '')} (${bin})`
    : 'a TypeScript driver with pg (no pgbench binary found)';
  ctx.log(`db ceiling with ${tool}`);
  const seconds = ctx.cfg.ceilingSeconds;
  const cases: CaseRecord[] = [];
  for (const c of CASES) {
    const file = path.join(dir, c.script);
    const runs = [];
    for (let i = 0; i < ctx.cfg.runs; i++) {
      const a = ctx.cpu();
      const r = bin ? await runPgbench(bin, ctx, file, c.clients, seconds) : await runWithPg(ctx, file, c.clients, seconds);
      const cpu = cpuDelta(a, ctx.cpu());
      runs.push({
        tps: round(r.tps, 1),
        rows_per_s: Math.round(r.tps * c.rowsPerTxn),
        latency_ms: round(r.latency_ms, 3),
        db_cpu_pct: cpu.db_pct,
        machine_busy_pct: cpu.machine_busy_pct,
      });
    }
    const rec = {
      script: c.script,
      what: c.what,
      clients: c.clients,
      rows_per_txn: c.rowsPerTxn,
      seconds,
      commits_per_s: round(median(runs.map((r) => r.tps)), 1),
      rows_per_s: Math.round(median(runs.map((r) => r.rows_per_s))),
      latency_ms: round(median(runs.map((r) => r.latency_ms)), 3),
      runs,
    };
    ctx.log(`  ${c.script} c=${c.clients}: ${rec.commits_per_s} commits/s = ${rec.rows_per_s} rows/s`);
    cases.push(rec);
  }
  const admin2 = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'postgres' });
  await admin2.connect();
  await admin2.query('drop database if exists bench_ceiling with (force)');
  await admin2.end();
  const pick = (s: string, c: number) => cases.find((x) => x.script === s && x.clients === c)!;
  return {
    tool,
    postgres: version,
    settings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
    cases,
    naive_ceiling_rows_per_s: pick('ins_notify.sql', 8).rows_per_s,
    batched_ceiling_rows_per_s: pick('ins_batch.sql', 8).rows_per_s,
    plain_insert_rows_per_s: pick('ins_plain.sql', 8).rows_per_s,
  };
}

export type CeilingResult = Awaited<ReturnType<typeof ceiling>>;
