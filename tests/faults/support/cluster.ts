import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { createTokens } from '../../../src/auth/tokens.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../../src/db/embedded.js';
import { migrate } from '../../../src/db/migrate.js';
import { freePort } from '../../support/ports.js';
import { TEST_JWT_SECRET } from '../../support/server.js';

/**
 * What the fault suite runs on: a PostgreSQL of its own (it is restarted, so it cannot be the
 * runner's shared one), real gateway processes (dist/src/server.js) that can be killed and
 * restarted, and users with tokens.
 */

/** A line a gateway logged at error level (the plain format, or pino's JSON). */
export const ERROR_LINE = /(^|\s)error:|"level":\s*(50|60|"error"|"fatal")/;

export class FaultDatabase {
  private server: EmbeddedDatabase | undefined;
  private constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {}

  static async start(): Promise<FaultDatabase> {
    await mkdir('.data', { recursive: true });
    const db = new FaultDatabase(await mkdtemp(path.resolve('.data/fault-postgres-')), await freePort());
    await db.boot();
    await migrate(db.url);
    return db;
  }

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/chat`;
  }

  /**
   * A fast shutdown (every backend terminated, as an operator's restart does), then a start;
   * `whileDown` runs in between.
   */
  async restart(whileDown: () => Promise<void> = async () => {}): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
    await whileDown();
    await this.boot();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    this.server = await startEmbeddedPostgres({
      dir: this.dir,
      port: this.port,
      database: 'chat',
      persistent: true, // kept across restart(); stop() removes it
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
  }
}

/** One gateway process; `kill()` is kill -9, `start()` starts it again (on a new port). */
export class Gateway {
  private child: ChildProcess | undefined;
  private port = 0;
  /** Everything every incarnation of this gateway logged. */
  output = '';

  constructor(
    readonly name: string,
    private readonly databaseUrl: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['dist/src/server.js'], {
      env: { ...process.env, DATABASE_URL: this.databaseUrl, PORT: '0', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let own = '';
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start:\n${own}`)), 30_000);
      const onData = (chunk: Buffer) => {
        own += chunk.toString();
        this.output += chunk.toString();
        const match = /listening on http:\/\/localhost:(\d+)/.exec(own);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}):\n${own}`));
      });
    });
  }

  /** kill -9: no shutdown, sockets and database connections simply vanish. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Lines logged at error level (stack traces included) since `from` (an offset in output). */
  errorLines(from = 0): string[] {
    return this.output
      .slice(from)
      .split('\n')
      .filter((line) => ERROR_LINE.test(line));
  }

  async healthy(): Promise<boolean> {
    if (!this.running) return false;
    const res = await fetch(`${this.url}/health`).catch(() => undefined);
    return res?.status === 200;
  }
}

export interface Member {
  id: string;
  token: string;
}

/**
 * `pairs` rooms of two fresh users, made in SQL (accounts without a usable password: the suite
 * never logs in) with tokens signed as the gateways sign them.
 */
export async function createRooms(databaseUrl: string, pairs: number): Promise<Array<{ roomId: string; a: Member; b: Member }>> {
  const tokens = createTokens(new TextEncoder().encode(TEST_JWT_SECRET));
  const owner = new pg.Client({ connectionString: databaseUrl });
  await owner.connect();
  try {
    const member = async (country: string): Promise<Member> => {
      const pseudo = `f${randomBytes(6).toString('hex')}`;
      const { rows } = await owner.query<{ user: { id: string } }>(`select api.register($1, $2, $3, '$argon2id$never-verified') as user`, [
        pseudo,
        `${pseudo}@example.com`,
        country,
      ]);
      return { id: rows[0]!.user.id, token: await tokens.issue(rows[0]!.user.id) };
    };
    const rooms = [];
    for (let i = 0; i < pairs; i++) {
      const a = await member('FR');
      const b = await member('NG');
      await owner.query('select api.join_pool($1)', [a.id]);
      const { rows } = await owner.query<{ joined: { matched: boolean; room: { id: string } } }>('select api.join_pool($1) as joined', [
        b.id,
      ]);
      if (!rows[0]!.joined.matched) throw new Error('the second user of a pair was not matched');
      rooms.push({ roomId: rows[0]!.joined.room.id, a, b });
    }
    return rooms;
  } finally {
    await owner.end();
  }
}

/** Polls `check` until it holds, or fails with `what` after `timeoutMs` (no fixed sleep). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
