import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../lib/observability/logger';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { testConfig } from '../../devkit/config';
import { startDevServer } from '../../devkit/temporal-env';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { ACTIVITY_SHUTDOWN_GRACE_MS, shutDownThenExit } from '../../workers/graceful-exit';

/**
 * The stall watchdog used to exit 200 ms after deciding, cutting any ANAF call in flight (an
 * upload cut mid-way costs a reconciliation). Now the worker shuts down first, letting the
 * call finish, and exits with the stall code when done, or when the grace runs out.
 */
let env: TestWorkflowEnvironment;
before(async () => {
  env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

test('a stalled worker lets the in-flight ANAF call finish, then leaves with exit code 75; never later than the grace', async () => {
  const taskQueue = `graceful-${process.pid}`;
  // The dev server's client encrypts like the product; these workers decrypt alike.
  const dataConverter = dataConverterFor(testConfig());
  let callStarted!: () => void;
  const started = new Promise<void>((resolve) => (callStarted = resolve));
  let callFinished = false;
  let callDone!: () => void;
  const done = new Promise<void>((resolve) => (callDone = resolve));
  const orchestration = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../toy-service/workflow'),
    shutdownGraceTime: ACTIVITY_SHUTDOWN_GRACE_MS,
    dataConverter,
  });
  const anafCalls = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: anafTaskQueueFor(taskQueue),
    shutdownGraceTime: ACTIVITY_SHUTDOWN_GRACE_MS,
    dataConverter,
    activities: {
      // ANAF answering in 1.5 s: longer than the old 200 ms, well inside the grace.
      async echoFromAnaf(word: string) {
        callStarted();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        callFinished = true;
        callDone();
        return word;
      },
    },
  });
  const running = Promise.all([orchestration.run(), anafCalls.run()]);
  await env.client.workflow.start('toyEcho', { taskQueue, workflowId: `graceful-${process.pid}`, args: ['salut'] });
  await started;

  const exits: number[] = [];
  const t0 = Date.now();
  try {
    shutDownThenExit([orchestration, anafCalls], {
      graceMs: 10_000,
      exitCode: 75,
      logger: createLogger({ level: 'silent' }),
      exit: (code) => exits.push(code),
    });
    assert.equal(process.exitCode, 75, 'the stall code is set at once, so a finished shutdown exits with it');
    await done;
    assert.deepEqual(exits, [], 'nothing exited while the ANAF call was in flight');
    await running;
    assert.equal(callFinished, true, 'the ANAF call in flight finished before the worker stopped');
    assert.deepEqual(exits, [], 'no forced exit: the shutdown finished inside the grace');
    assert.ok(Date.now() - t0 >= 1_000, 'the worker waited for the call');
  } finally {
    process.exitCode = 0;
  }
});
