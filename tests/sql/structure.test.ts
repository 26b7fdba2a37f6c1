import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SQLSTATE_TO_HTTP } from '../../src/db/errors.js';
import { dbDir } from '../../src/db/migrate.js';
import { dumpStructure } from '../../src/db/structure.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('db/structure.sql is what the migrations produce (run `npm run db:structure` after changing a migration or a function)', async () => {
  const committed = await readFile(path.join(dbDir, 'structure.sql'), 'utf8');
  assert.equal(await dumpStructure(db.url), committed);
});

async function sqlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((f) => f.endsWith('.sql')).map((f) => path.join(dir, f));
}

test('every custom SQLSTATE raised in SQL is mapped to HTTP and documented', async () => {
  const docs = await readFile(path.join(dbDir, '..', 'docs', 'error-codes.md'), 'utf8');
  const raised = new Set<string>();
  for (const file of await sqlFiles(path.join(dbDir, 'functions'))) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/errcode\s*=\s*'([0-9A-Z]{5})'/g)) raised.add(match[1]!);
  }
  assert.ok(raised.size > 5, 'the scan found the raised codes');
  for (const code of raised) {
    assert.ok(SQLSTATE_TO_HTTP[code], `${code} is raised in SQL but missing from src/db/errors.ts`);
    assert.match(docs, new RegExp(`\\|\\s*\`${code}\`\\s*\\|`), `${code} is missing from docs/error-codes.md`);
    // custom codes: first character not F/H/P/X and not a standard class digit, third not 0/P, fourth a letter
    assert.match(code, /^[A-EG-OQ-WYZ][0-9A-Z][1-9A-OQ-Z][A-Z][0-9A-Z]$/, `${code} breaks the custom-code rules`);
  }
});
