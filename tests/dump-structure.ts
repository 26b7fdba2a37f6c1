/**
 * `npm run db:structure`: migrates a scratch database on a throw-away embedded PostgreSQL and
 * writes db/structure.sql from it. Run it after adding a migration and commit the result.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { dbDir, migrate } from '../src/db/migrate.js';
import { dumpStructure } from '../src/db/structure.js';
import { freePort } from './support/ports.js';

const dir = await mkdtemp(path.resolve('.data/structure-postgres-'));
const embedded = await startEmbeddedPostgres({ dir, port: await freePort(), database: 'structure', persistent: false });
try {
  await migrate(embedded.url);
  await writeFile(path.join(dbDir, 'structure.sql'), await dumpStructure(embedded.url));
  console.log('wrote db/structure.sql');
} finally {
  await embedded.stop();
  await rm(dir, { recursive: true, force: true });
}
