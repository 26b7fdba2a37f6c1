import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { dbDir } from '../../src/db/migrate.js';

/**
 * The SQL's house conventions, checked on every file of db/ (the linter of the SQL, run by
 * `npm test`): lower-case keywords, no tabs or trailing blanks, and for every function a
 * declared volatility, a `comment on function`, `p_` parameters and `v_` locals, and
 * `security definer` only with the pinned search_path (required for api.*, whose caller has no
 * table rights).
 */
interface SqlFile {
  name: string;
  text: string;
}

async function sqlFiles(): Promise<SqlFile[]> {
  const files: SqlFile[] = [];
  for (const folder of ['schema', 'functions/internal', 'functions/api']) {
    const dir = path.join(dbDir, folder);
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()) {
      files.push({ name: `${folder}/${name}`, text: await readFile(path.join(dir, name), 'utf8') });
    }
  }
  return files;
}

/** The code without comments and string literals, so that only SQL itself is checked. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/E?'(?:[^']|'')*'/g, "''");
}

interface FunctionDefinition {
  file: string;
  name: string;
  header: string;
  body: string;
}

function functionsOf(file: SqlFile): FunctionDefinition[] {
  const found: FunctionDefinition[] = [];
  const pattern = /create (?:or replace )?function ([a-z_]+\.[a-z_0-9]+)\s*\(([\s\S]*?)\$\$([\s\S]*?)\$\$/g;
  for (const match of file.text.matchAll(pattern)) {
    found.push({ file: file.name, name: match[1]!, header: match[2]!, body: match[3]! });
  }
  return found;
}

const KEYWORDS =
  /\b(SELECT|FROM|WHERE|INSERT|UPDATE|DELETE|CREATE|FUNCTION|RETURNS|BEGIN|END|DECLARE|LANGUAGE|AND|OR|NOT|NULL|JOIN|ON|AS|IF|THEN|ELSE|TABLE|INTO|VALUES|SET|RETURN|PERFORM|RAISE)\b/;

test('SQL is lower-case, without tabs or trailing blanks', async () => {
  for (const file of await sqlFiles()) {
    const code = codeOnly(file.text);
    assert.doesNotMatch(code, KEYWORDS, `${file.name}: upper-case keyword`);
    file.text.split('\n').forEach((line, i) => {
      assert.doesNotMatch(line, /\t/, `${file.name}:${i + 1}: tab`);
      assert.doesNotMatch(line, /[ \t]+$/, `${file.name}:${i + 1}: trailing blank`);
    });
  }
});

test('every function declares its volatility and has a comment', async () => {
  const files = await sqlFiles();
  const definitions = files.flatMap(functionsOf);
  assert.ok(definitions.length > 30, `found only ${definitions.length} functions: is the pattern still right?`);
  const allText = files.map((f) => codeOnly(f.text)).join('\n');
  for (const fn of definitions) {
    assert.match(fn.header, /\b(immutable|stable|volatile)\b/, `${fn.file}: ${fn.name} declares no volatility`);
    assert.ok(allText.includes(`comment on function ${fn.name}(`), `${fn.file}: ${fn.name} has no comment on function`);
  }
});

test('security definer only with the pinned search_path; every api function is one', async () => {
  for (const fn of (await sqlFiles()).flatMap(functionsOf)) {
    const definer = /\bsecurity definer\b/.test(fn.header);
    if (definer) {
      assert.match(
        fn.header,
        /\bset search_path = pg_catalog, app, internal\b/,
        `${fn.file}: ${fn.name} is security definer without the pinned search_path`,
      );
    }
    if (fn.name.startsWith('api.')) assert.ok(definer, `${fn.file}: ${fn.name} must be security definer (its caller has no table rights)`);
  }
});

test('parameters are p_, locals v_', async () => {
  for (const fn of (await sqlFiles()).flatMap(functionsOf)) {
    const parameters = fn.header.slice(0, fn.header.indexOf(')\n') >= 0 ? fn.header.indexOf(')\n') : fn.header.length);
    for (const [, name] of parameters.matchAll(/(?:^|,|\()\s*([a-z_][a-z_0-9]*)\s+(?!default)[a-z]/g)) {
      assert.match(name!, /^p_/, `${fn.file}: ${fn.name} parameter ${name} is not p_`);
    }
    const declare = /\bdeclare\b([\s\S]*?)\bbegin\b/.exec(codeOnly(fn.body));
    for (const [, name] of (declare?.[1] ?? '').matchAll(/^\s*([a-z_][a-z_0-9]*)\s/gm)) {
      assert.match(name!, /^v_/, `${fn.file}: ${fn.name} local ${name} is not v_`);
    }
  }
});
