import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { dataConverterFor } from '../../lib/temporal-client';
import { testConfig } from '../support/config';
import { workflowBundle } from '../support/stack';

/**
 * Every recorded history (test/histories, from `npm run record-histories` or downloaded
 * from the Web UI) must replay against today's workflow code: a change that would break
 * running workflows fails here, before it reaches a worker.
 */
const DIR = path.resolve(__dirname, '../histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

test('there are recorded histories to replay', () => {
  assert.ok(files.length >= 5, `only ${files.length} histories in ${DIR}`);
});

for (const file of files) {
  test(`replays ${file}`, async () => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
    const bundle = workflowBundle();
    await Worker.runReplayHistory(
      {
        ...(bundle ? { workflowBundle: bundle } : { workflowsPath: require.resolve('../../workflows') }),
        dataConverter: dataConverterFor(testConfig()),
      },
      history,
      file,
    );
  });
}
