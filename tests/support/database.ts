import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { lockDownDatabase } from '../../src/db/roles.js';

/**
 * A database of this test file's own, cloned from the migrated template that tests/run.ts made.
 * Dropped again by `drop()` (with force: a test may leave connections behind on failure).
 */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_ADMIN_URL;
  if (!url) throw new Error('run the tests with `npm test` (tests/run.ts prepares the database)');
  return url;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${process.env.TEST_TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  // as every start does (src/db/migrate.ts): a clone does not inherit its template's database privileges
  const owner = await connect(url.toString());
  try {
    await lockDownDatabase(owner);
  } finally {
    await owner.end();
  }
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * Runs `body` inside a transaction as the gateway role (api.* only), then rolls back: the
 * function-level tests leave nothing behind and see exactly what the gateway may do.
 */
export async function asGateway<T>(client: pg.Client, body: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    await client.query('set local role chat_gateway');
    return await body();
  } finally {
    await client.query('rollback');
  }
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * The usual fixture of a test file: a database of its own and an owner connection to it, made
 * before the file's tests and dropped after them. `use` receives both once they exist.
 */
export function withTestDatabase(use: (db: TestDatabase, client: pg.Client) => void): void {
  let db: TestDatabase | undefined;
  let client: pg.Client | undefined;
  before(async () => {
    db = await createTestDatabase();
    client = await connect(db.url);
    use(db, client);
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });
}
