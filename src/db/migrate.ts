import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveBinary } from 'dbmate';
import pg from 'pg';
import { ensureGatewayLogin, lockDownDatabase } from './roles.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const dbDir = path.join(root, 'db');

/** Serializes start-ups of several processes on one database (migrations and functions). */
const MIGRATION_LOCK = 4_242_001;

/**
 * Brings a database up to date, as its owner: dbmate applies db/schema/ (append-only
 * migrations), then the stateless schemas api and internal are dropped and re-created from
 * db/functions/ in one transaction when those files changed, so the functions always match their
 * files; PUBLIC's default
 * database privileges are taken back. With `gatewayUrl`, the gateway's login role gets that URL's
 * password.
 */
export async function migrate(databaseUrl: string, options: { gatewayUrl?: string } = {}): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'chat-migrate' });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await runDbmate(databaseUrl);
    await applyFunctions(client);
    await lockDownDatabase(client);
    if (options.gatewayUrl) await ensureGatewayLogin(client, options.gatewayUrl);
  } finally {
    await client.end(); // also releases the advisory lock
  }
}

async function runDbmate(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  if (!url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'disable');
  try {
    // the URL (and its password) goes by environment: a command line is visible to every user in ps
    await run(resolveBinary(), ['--migrations-dir', path.join(dbDir, 'schema'), '--no-dump-schema', 'up'], {
      env: { ...process.env, DATABASE_URL: url.toString() },
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`dbmate failed: ${stderr || String(error)}`);
  }
}

/** internal/ first (api depends on it), each folder in file-name order. */
async function functionFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const folder of ['internal', 'api']) {
    const dir = path.join(dbDir, 'functions', folder);
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()) {
      files.push(path.join(dir, name));
    }
  }
  return files;
}

/**
 * The functions are re-created only when their files changed. Dropping them while other gateway
 * processes run (a rolling restart of the same version) makes those processes' calls that are
 * compiling a function at that instant fail ("cache lookup failed for function"): the files'
 * digest, kept as the comment of schema api, says whether there is anything to do.
 */
async function applyFunctions(client: pg.Client): Promise<void> {
  const files = await functionFiles();
  const texts = await Promise.all(files.map((file) => readFile(file, 'utf8')));
  const digest = createHash('sha256').update(JSON.stringify(texts)).digest('hex');
  const { rows } = await client.query<{ digest: string | null }>(
    `select obj_description(oid, 'pg_namespace') as digest from pg_namespace where nspname = 'api'`,
  );
  if (rows[0]?.digest === `functions ${digest}`) return;
  await client.query('begin');
  try {
    await client.query(`
      drop schema if exists api cascade;
      drop schema if exists internal cascade;
      create schema internal;
      create schema api;
      revoke all on schema internal from public;
      revoke all on schema api from public;`);
    for (const [i, file] of files.entries()) {
      try {
        await client.query(texts[i]!);
      } catch (error) {
        throw new Error(`${path.relative(root, file)}: ${(error as Error).message}`);
      }
    }
    // functions are executable by PUBLIC when created: take that back, then grant the api only
    await client.query(`
      revoke execute on all functions in schema api, internal from public;
      grant usage on schema api to chat_gateway;
      grant execute on all functions in schema api to chat_gateway;`);
    await client.query(`comment on schema api is ${client.escapeLiteral(`functions ${digest}`)}`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}
