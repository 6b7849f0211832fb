import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { docSteps } from '../../devkit/doc-commands';
import { loadConfig } from '../../lib/config/config';
import { summary } from '../../scripts/launch';

const root = path.resolve(__dirname, '../..');

/** Every page whose ```sh blocks a reader runs (test/integration/docs-commands.test.ts runs them too). */
function docPages(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(root, 'docs', f));
  return [path.join(root, 'README.md'), ...docs];
}

test("npm run dev's summary exports every variable the docs' commands use and do not set themselves", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-summary-'));
  const config = loadConfig({ DATA_DIR: dataDir, ANAF_ENV: 'sandbox' });
  const text = summary({ what: 'anaf-flow', config, startedAt: Date.now(), address: '127.0.0.1:7233', uiUrl: 'http://localhost:8233' });
  const exportLine = text.split('\n').find((l) => l.includes('export '));
  assert.ok(exportLine, 'the summary has an export line');
  const exported = new Set([...exportLine.matchAll(/\b([A-Z_]+)=/g)].map((m) => m[1]!));
  assert.equal(exportLine.match(/KEY=(\S+)/)?.[1], config.api.keys[0]!.key, 'KEY is the generated tenant key');

  const missing = new Set<string>();
  for (const page of docPages()) {
    const steps = docSteps(fs.readFileSync(page, 'utf8'));
    const commands = steps.flatMap((s) => (s.kind === 'command' ? [s.command] : []));
    const setHere = new Set(commands.flatMap((c) => [...c.matchAll(/(?:^|[\s;(])(?:export\s+)?([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!)));
    for (const c of commands) {
      for (const m of c.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)) {
        const name = m[1]!;
        if (!exported.has(name) && !setHere.has(name) && !(name in process.env && ['HOME', 'PATH', 'PWD'].includes(name)))
          missing.add(`${path.relative(root, page)}: $${name}`);
      }
    }
  }
  assert.deepEqual([...missing], [], 'variables a reader of the docs would not have after pasting the summary line');
});
