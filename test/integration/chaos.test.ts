import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaosShortfalls, runChaos } from '../../devkit/chaos/suite';

/**
 * The chaos suite's short form (the full one is `npm run chaos`): worker processes killed
 * with SIGKILL, the Temporal server restarted on its database, and every sandbox fault at
 * once — yet every lifecycle ends, none is lost, no invoice is uploaded twice, every index
 * adopted from ANAF's listing is the invoice's own, and nothing ends FAILED except on a final
 * answer ANAF documents. And the chaos must hit what matters: an upload answer lost after
 * ANAF processed it, and a SIGKILL on the worker whose upload was in flight.
 */
test(
  'chaos (short form): SIGKILLed workers, a Temporal restart and sandbox faults lose nothing and upload nothing twice',
  { timeout: 420_000 },
  async (t) => {
    const lines: string[] = [];
    const report = await runChaos({
      lifecycles: 40,
      workers: 2,
      killEveryMs: [4_000, 10_000],
      maxKills: 3,
      restartTemporalAt: 0.5,
      faults: true,
      timeoutMs: 360_000,
      seed: 11,
      log: (line) => lines.push(line),
    });
    const summary = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    t.diagnostic(JSON.stringify(report));
    assert.ok(report.workerKills >= 2, `too few kills to mean anything: ${summary}`);
    assert.ok(report.temporalRestartMs !== undefined, 'the Temporal server was restarted');
    assert.ok(report.faultsFired >= 5, `faults fired: ${summary}`);
    assert.ok(report.uploadAnswersLost >= 1, `an upload lost its answer after processing: ${summary}`);
    assert.ok(report.killsDuringUpload >= 1, `a SIGKILL landed while an upload was in flight: ${summary}`);
    assert.deepEqual(report.adoptedIndexMismatches, [], summary);
    assert.deepEqual(report.unexplainedFailures, [], summary);
    assert.deepEqual(chaosShortfalls(report), [], summary);
  },
);
