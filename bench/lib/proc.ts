/** Linux /proc readers: CPU time and RSS of processes and their descendants, machine facts. */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

export const CLK_TCK = 100; // USER_HZ on every Linux build we target

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds */
  cpu: number;
  /** cutime + cstime (reaped children), seconds */
  childCpu: number;
}

export function readStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const f = s.slice(close + 2).split(' ');
  // f[0] = state (field 3); utime is field 14 → f[11]
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const cutime = Number(f[13]);
  const cstime = Number(f[14]);
  return { pid, ppid, comm, cpu: (utime + stime) / CLK_TCK, childCpu: (cutime + cstime) / CLK_TCK };
}

/** VmRSS in bytes, or NaN. */
export function rssBytes(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(s);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Number of open file descriptors of a process (NaN when unreadable). */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Soft "Max open files" limit of a process. */
export function maxOpenFiles(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /Max open files\s+(\d+|unlimited)/.exec(s);
    if (!m) return NaN;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return NaN;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(Number(d));
    if (st) out.push(st);
  }
  return out;
}

/** All descendants (not including root) of a process. */
export function descendants(root: number): ProcStat[] {
  const all = allStats();
  const byParent = new Map<number, ProcStat[]>();
  for (const p of all) {
    const l = byParent.get(p.ppid);
    if (l) l.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const c of byParent.get(pid) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

/** Machine-wide CPU counters from /proc/stat: busy and total seconds over all cores. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy excludes idle, iowait and steal
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: busy / CLK_TCK, total: total / CLK_TCK };
}

export interface CpuSnapshot {
  t: number;
  server: number;
  /** all processes under the server (the embedded PostgreSQL), including reaped children */
  db: number;
  loadgen: number;
  /** this runner process */
  runner: number;
  machineBusy: number;
  machineTotal: number;
}

/**
 * CPU seconds consumed so far by the server process, the PostgreSQL (postmaster and backends,
 * plus what reaped backends left in the postmaster's cutime; either the bench's own, or the
 * server's embedded one found under the server process) and the load-generator processes.
 */
export function cpuSnapshot(serverPid: number | undefined, loadgenPids: number[], dbPid?: number): CpuSnapshot {
  let server = 0;
  let db = 0;
  if (serverPid) server = readStat(serverPid)?.cpu ?? 0;
  if (dbPid) {
    // our own PostgreSQL: the postmaster, its live children, and what reaped children left
    const p = readStat(dbPid);
    if (p) db += p.cpu + p.childCpu;
    for (const d of descendants(dbPid)) db += d.cpu + d.childCpu;
  } else if (serverPid) {
    // the server's embedded PostgreSQL runs under the server process
    for (const d of descendants(serverPid)) db += d.cpu + d.childCpu;
  }
  let loadgen = 0;
  for (const pid of loadgenPids) loadgen += readStat(pid)?.cpu ?? 0;
  const m = machineCpu();
  const ru = process.cpuUsage();
  return { t: performance.now(), server, db, loadgen, runner: (ru.user + ru.system) / 1e6, machineBusy: m.busy, machineTotal: m.total };
}

/** CPU use between two snapshots, in percent of ONE core (200 = both cores of a 2-core box). */
export function cpuDelta(
  a: CpuSnapshot,
  b: CpuSnapshot,
): {
  server_pct: number;
  db_pct: number;
  loadgen_pct: number;
  machine_busy_pct: number;
  /** machine busy time not spent by the server, its PostgreSQL, the load generators or this runner */
  other_pct: number;
} {
  const dt = (b.t - a.t) / 1000;
  const r = (x: number) => Math.round((x / dt) * 1000) / 10;
  const cores = os.cpus().length;
  const mt = b.machineTotal - a.machineTotal;
  const busy = mt > 0 ? Math.round(((b.machineBusy - a.machineBusy) / mt) * 1000 * cores) / 10 : NaN;
  const ours = r(b.server - a.server) + r(Math.max(0, b.db - a.db)) + r(b.loadgen - a.loadgen) + r(b.runner - a.runner);
  return {
    server_pct: r(b.server - a.server),
    db_pct: r(Math.max(0, b.db - a.db)),
    loadgen_pct: r(b.loadgen - a.loadgen),
    machine_busy_pct: busy,
    other_pct: Math.round(Math.max(0, busy - ours) * 10) / 10,
  };
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    open_files_limit: maxOpenFiles(process.pid),
  };
}
