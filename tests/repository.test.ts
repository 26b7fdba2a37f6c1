import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

/*
 * The repository stands alone: nothing cites design notes that are not in it. What a newcomer
 * needs is in docs/ (docs/architecture.md, docs/api.md).
 */

const ROOTS = ['src', 'db', 'tests', 'docs', 'bench', '.ci', 'README.md', 'package.json'];
const SKIP = new Set(['node_modules', 'dist', '.data', 'results']);
// spelled in pieces so this file does not match itself
const OUTSIDE = new RegExp(
  ['DESIGN', 'SPEC']
    .map((name) => `\\b${name}\\.md\\b`)
    .concat(['\\.\\./shared/', `/work${'/'}shared`])
    .join('|'),
);

async function files(entry: string): Promise<string[]> {
  const stat = await readdir(entry, { withFileTypes: true }).catch(() => undefined);
  if (!stat) return [entry];
  const nested = await Promise.all(stat.filter((e) => !SKIP.has(e.name)).map((e) => files(path.join(entry, e.name))));
  return nested.flat();
}

test('no file cites documents outside the repository', async () => {
  const all = (await Promise.all(ROOTS.map(files))).flat();
  assert.ok(all.length > 50, `scanned ${all.length} files`);
  const citing: string[] = [];
  for (const file of all) {
    const text = await readFile(file, 'utf8').catch(() => '');
    text.split('\n').forEach((line, i) => {
      if (OUTSIDE.test(line)) citing.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(citing, []);
});
