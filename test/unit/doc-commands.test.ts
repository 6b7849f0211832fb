import assert from 'node:assert/strict';
import { test } from 'node:test';
import { docSteps, insideQuotes } from '../../devkit/doc-commands';

test('a command whose quoted argument spans lines is one step (bash reads it so)', () => {
  const page = [
    '```sh',
    `curl -s -X PATCH "$SANDBOX/x" -d '{"clients":[`,
    `  {"clientId":"a"}]}'`,
    'curl -s "$API/v1/y" # → 200 {"ok":true}',
    '```',
  ].join('\n');
  const steps = docSteps(page);
  assert.equal(steps.length, 2, JSON.stringify(steps));
  assert.equal(steps[0]!.kind === 'command' && steps[0]!.command, `curl -s -X PATCH "$SANDBOX/x" -d '{"clients":[\n  {"clientId":"a"}]}'`);
  assert.equal(steps[1]!.kind === 'command' && steps[1]!.line, 4);
});

test('insideQuotes follows bash: escapes, both quote kinds, comments', () => {
  assert.equal(insideQuotes(`echo 'a`), true);
  assert.equal(insideQuotes(`echo 'a' "b`), true);
  assert.equal(insideQuotes(`echo "a \\" b"`), false);
  assert.equal(insideQuotes(`echo it\\'s`), false);
  assert.equal(insideQuotes(`curl x # → 200 {"it's":1}`), false);
});
