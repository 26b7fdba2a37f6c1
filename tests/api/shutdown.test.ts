import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { withTestDatabase, type TestDatabase } from '../support/database.js';

/*
 * A closed gateway leaves nothing running: the process ends by itself. Closing right after a burst
 * of joins used to strand room-expiry sends in pg-boss's ended pool, and a pg-boss worker loop
 * then kept the process alive for good.
 */

let db: TestDatabase;
withTestDatabase((d) => {
  db = d;
});

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/close-after-joins.js');

test('a gateway closed right after 600 joins (expiry jobs still being scheduled) lets its process exit', async () => {
  const child = spawn(process.execPath, [CHILD, db.url, '600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  assert.equal(code, 0, `the process did not end by itself within 30 s after its gateway closed (output: ${output.trim()})`);
  assert.deepEqual(JSON.parse(output), { matched: 300, waiting: 300 });
});
