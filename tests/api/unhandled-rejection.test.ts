import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServerProcess, type ServerProcess } from '../support/server.js';

/**
 * The last net under every guarded callback: a promise rejection nobody handled (a bug) is logged
 * at error level and the process goes on serving, instead of Node's default of ending it. The
 * server process is given such a rejection by a module preloaded into it.
 */
let db: TestDatabase | undefined;
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop();
  await db?.drop();
});

test('an unhandled rejection is logged and the server keeps answering', async () => {
  db = await createTestDatabase();
  const rejectSoon = "setTimeout(() => Promise.reject(new Error('a bug nobody caught')), 2000);";
  server = await spawnServerProcess(db.url, { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(rejectSoon)}` });
  const deadline = Date.now() + 10_000;
  while (!server.output().includes('unhandled promise rejection') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const logged = server
    .output()
    .split('\n')
    .find((line) => line.includes('unhandled promise rejection'));
  assert.match(logged ?? '', /"level":50.*a bug nobody caught/);
  assert.equal(server.child.exitCode, null, 'the process is still running');
  const res = await fetch(`${server.url}/health`);
  assert.equal(res.status, 200);
});
