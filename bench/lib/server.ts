/** Starts and stops the real server (`node dist/src/server.js`) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { rssBytes } from './proc.js';

export interface ServerOptions {
  root: string;
  dataDir: string;
  port: number;
  pgPort: number;
  jwtSecret: string;
  /** an external PostgreSQL; unset: the server starts its embedded one on pgPort */
  databaseUrl?: string;
  batchMax?: number;
  batchMs?: number;
  logFile: string;
  /** extra node flags for the server, e.g. --cpu-prof */
  nodeArgs?: string[];
  /** extra environment for the server (e.g. the soak's memory probe) */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class ServerProcess {
  child?: ChildProcess;
  pid = 0;
  pgPort = 0;
  startMs = 0;
  readonly opts: ServerOptions;
  private log?: WriteStream;
  private exited?: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(opts: ServerOptions) {
    this.opts = opts;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.opts.port}`;
  }
  get dbUrl(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.pgPort}/chat`;
  }

  async start(): Promise<void> {
    const o = this.opts;
    mkdirSync(path.dirname(o.logFile), { recursive: true });
    this.log = createWriteStream(o.logFile, { flags: 'a' });
    // Empty rather than deleted: the server also reads a .env file, which never overrides a
    // variable that is set — so a developer's DATABASE_URL or NODE_ENV there cannot leak in.
    const env: NodeJS.ProcessEnv = { ...process.env };
    Object.assign(env, {
      NODE_ENV: '',
      DATABASE_URL: o.databaseUrl ?? '',
      DB_URL: '',
      CORS_ORIGINS: '',
      ROOM_TTL: '24h',
      PORT: String(o.port),
      DATA_DIR: o.dataDir,
      EMBEDDED_PG_PORT: String(o.pgPort),
      JWT_SECRET: o.jwtSecret,
      SEND_BATCH_MAX: String(o.batchMax ?? 256),
      SEND_BATCH_MS: String(o.batchMs ?? 2),
      // the server's defaults, unless a scenario sets them (naive lanes): never the caller's environment
      SEND_LANES: '2',
      SEND_QUEUE_MAX: '2048',
      // the load generators register thousands of users from one address, and measure the hash's
      // throughput rather than its admission limit
      REGISTRATIONS_PER_HOUR: '1000000',
      HASH_QUEUE: '100000',
      GATEWAY_DATABASE_URL: '',
      // every load generator connects from 127.0.0.1: the per-address socket limit would stop them
      SOCKETS_PER_ADDRESS: '1000000',
      ...o.env,
    });
    const t0 = performance.now();
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), 'dist/src/server.js'], {
      cwd: o.root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.pid = child.pid ?? 0;
    this.log.write(`\n=== ${new Date().toISOString()} start pid=${this.pid} port=${o.port} pg=${o.pgPort} batch=${o.batchMax ?? 256}\n`);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, sig) => {
        this.exitCode = code ?? (sig ? -1 : null);
        this.log?.write(`=== exit code=${code} signal=${sig}\n`);
        resolve(code);
      }),
    );
    let out = '';
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server not ready after ${o.readyTimeoutMs ?? 180000} ms; see ${o.logFile}`)),
        o.readyTimeoutMs ?? 180000,
      );
      const onData = (b: Buffer) => {
        this.log?.write(b);
        if (ready) return;
        out += b.toString();
        const pg = /database: embedded PostgreSQL.*?port (\d+)/.exec(out);
        if (pg) this.pgPort = Number(pg[1]);
        if (/listening on http:\/\/\S+:\d+/.test(out)) {
          ready = true;
          out = '';
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`server exited with code ${code} before listening; last output:\n${out.slice(-2000)}`));
      });
    });
    if (!this.pgPort) this.pgPort = o.pgPort;
    this.startMs = performance.now() - t0;
    await this.waitHealthy();
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        const r = await fetch(`${this.baseUrl}/health`);
        if (r.ok) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error('server /health never returned 200');
      await sleep(100);
    }
  }

  rss(): number {
    return rssBytes(this.pid);
  }

  running(): boolean {
    return this.exitCode === undefined && !!this.child;
  }

  /** SIGTERM, wait for a clean exit (the server stops its embedded PostgreSQL), SIGKILL after a timeout. */
  async stop(timeoutMs = 40000): Promise<void> {
    if (!this.child || this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    if ((await Promise.race([this.exited, t])) === 'timeout') {
      this.log?.write('=== did not stop after SIGTERM; SIGKILL\n');
      this.child.kill('SIGKILL');
      await this.exited;
      stopStalePostgres(this.opts.dataDir);
    }
    this.log?.end();
  }
}

/**
 * A previous bench run that died may have left its embedded PostgreSQL running on our data
 * directory. Stop it (by the pid its own postmaster.pid names, only if that process is a postgres).
 */
export function stopStalePostgres(dataDir: string): boolean {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid) return false;
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (!comm.startsWith('postgres')) return false;
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
