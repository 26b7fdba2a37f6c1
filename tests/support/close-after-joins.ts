/**
 * A child process for tests/api/shutdown.test.ts: a gateway on the database of argv[2] takes a
 * burst of pool joins and is closed as soon as the last answer is in, while the expiry jobs of the
 * new rooms are still being scheduled. Nothing here exits the process: it must end by itself once
 * the gateway is closed.
 */
import pg from 'pg';
import { startApp } from '../../src/app.js';
import { request } from './client.js';
import { testConfig } from './server.js';
import { insertUsers, signToken } from './sql.js';

const url = process.argv[2]!;
const joiners = Number(process.argv[3] ?? 600);

const app = await startApp(testConfig(), url);
const owner = new pg.Client({ connectionString: url });
await owner.connect();
const users = await insertUsers(
  owner,
  Array.from({ length: joiners }, (_, k) => ['FR', 'DE', 'NG'][k % 3]!),
);
await owner.end();
const tokens = await Promise.all(users.map((u) => signToken(u.id)));
const base = `http://127.0.0.1:${app.port}`;
const statuses = await Promise.all(tokens.map(async (token) => (await request(base, 'POST', '/pool/join', { token })).status));
await app.close();
console.log(JSON.stringify({ matched: statuses.filter((s) => s === 201).length, waiting: statuses.filter((s) => s === 202).length }));
