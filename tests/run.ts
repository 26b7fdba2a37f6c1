/**
 * `npm test`: one PostgreSQL for the whole run (the embedded one in a throw-away folder, or the
 * server of DATABASE_URL), a template database migrated once, then node's test runner over every
 * compiled test file. Each test file clones the template into a database of its own, so files
 * share no state and run in parallel.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { gatewayDatabaseUrl } from '../src/db/roles.js';
import { freePort } from './support/ports.js';
import { TEST_JWT_SECRET } from './support/secret.js';

const TEMPLATE = `chat_template_${process.pid}`;

/** Every compiled *.test.js below the compiled tests folder (node 20's runner takes no globs). */
async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
}

async function main(): Promise<number> {
  const external = process.env.DATABASE_URL || process.env.DB_URL;
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (external) {
    const url = new URL(external);
    url.pathname = '/postgres';
    adminUrl = url.toString();
  } else {
    await mkdir('.data', { recursive: true });
    dataDir = await mkdtemp(path.resolve('.data/test-postgres-'));
    embedded = await startEmbeddedPostgres({
      dir: dataDir,
      port: await freePort(),
      database: 'postgres',
      persistent: false,
      // throw-away data: durability settings only slow the suite down
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    adminUrl = embedded.urlFor('postgres');
  }

  try {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${TEMPLATE}`);
    await admin.query(`create database ${TEMPLATE}`);
    await admin.end();
    const templateUrl = new URL(adminUrl);
    templateUrl.pathname = `/${TEMPLATE}`;
    // the login role is cluster-wide: its password, derived as the test servers derive it, is set once
    const gatewayUrl = gatewayDatabaseUrl(templateUrl.toString(), undefined, new TextEncoder().encode(TEST_JWT_SECRET));
    await migrate(templateUrl.toString(), { gatewayUrl });

    const files = process.argv.slice(2);
    const args = [
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 120000}`,
      ...(files.length > 0 ? files : await testFiles(path.dirname(new URL(import.meta.url).pathname))),
    ];
    const child = spawn(process.execPath, args, {
      stdio: 'inherit',
      env: { ...process.env, TEST_ADMIN_URL: adminUrl, TEST_TEMPLATE_DB: TEMPLATE, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));

    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${TEMPLATE}`);
    await cleanup.end();
    return code;
  } finally {
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
