import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * docs/configuration.md names every environment variable lib/config/config.ts (and the config modules
 * it reads from) takes: a variable added without its documentation fails here.
 */

const ROOT = path.join(__dirname, '../..');
const CONFIG_SOURCES = ['lib/config/config.ts', 'lib/config/banciws-config.ts'];

function variablesRead(): string[] {
  const names = new Set<string>();
  for (const file of CONFIG_SOURCES) {
    const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
    // read(env, 'X', …), optional(env, 'X'), pemFile(env, 'X'), keysOf(env, 'X', …) and any helper shaped so.
    for (const m of source.matchAll(/\(\s*env\s*,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1] as string);
  }
  return [...names].sort();
}

test('docs/configuration.md names every variable lib/config/config.ts reads', () => {
  const variables = variablesRead();
  assert.ok(variables.length > 50, `found only ${variables.length} variables: the pattern no longer matches lib/config/config.ts`);
  const page = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
  assert.deepEqual(
    variables.filter((v) => !page.includes(`\`${v}\``)),
    [],
  );
});
