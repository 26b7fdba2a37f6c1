/**
 * `npm run test:fuzz -- --runs 100000`: the fuzz files alone, each property with that many runs
 * (FUZZ_RUNS) and no per-file time limit. `npm test` runs the same files with a CI-sized count.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const runs = at >= 0 ? Number(args[at + 1]) : 10_000;
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: npm run test:fuzz -- [--runs N]');
  process.exit(2);
}
const here = path.dirname(new URL(import.meta.url).pathname);
const files = (await readdir(here))
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join(here, f));
const child = spawn(process.execPath, [path.join(here, '..', 'run.js'), ...files], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: String(runs), TEST_TIMEOUT_MS: String(24 * 3_600_000) },
});
child.on('exit', (code) => process.exit(code ?? 1));
