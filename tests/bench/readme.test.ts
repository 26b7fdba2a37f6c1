import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { markdown, readmeBlock, unaligned } from '../../bench/lib/report.js';

/*
 * bench/README.md quotes the benchmark's figures (the target table, "Where the limits are", the
 * tables): all of it must be what bench/lib/report.ts writes from bench/results/*.json, so no
 * figure in it can disagree with the results it claims to describe.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('bench/README.md shows exactly what bench/results/*.json say', () => {
  const readme = readFileSync(path.join(root, 'bench', 'README.md'), 'utf8');
  const block = readmeBlock(readme);
  assert.ok(block !== undefined, 'bench/README.md has its results markers');
  // the formatter aligns the tables: compare the text, not the padding
  assert.equal(unaligned(block!), unaligned(markdown(path.join(root, 'bench', 'results'))), 'regenerate it: npm run bench -- --report');
});
