import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaosPassed, runChaos } from '../../bench/chaos-suite';

/**
 * The chaos suite's short form (the full one is `npm run chaos`): worker processes killed
 * with SIGKILL, the Temporal server restarted on its database, and every sandbox fault at
 * once — yet every lifecycle ends, none is lost, and no invoice is uploaded twice.
 */
test('chaos (short form): SIGKILLed workers, a Temporal restart and sandbox faults lose nothing and upload nothing twice', { timeout: 420_000 }, async () => {
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
  assert.ok(report.workerKills >= 2, `too few kills to mean anything: ${summary}`);
  assert.ok(report.temporalRestartMs !== undefined, 'the Temporal server was restarted');
  assert.ok(report.faultsFired >= 5, `faults fired: ${summary}`);
  assert.equal(report.lost, 0, `lifecycles that did not end: ${summary}`);
  assert.equal(report.duplicateUploads, 0, summary);
  assert.equal(report.acceptedWithoutExactlyOneUpload, 0, summary);
  assert.ok(chaosPassed(report), summary);
  assert.ok((report.outcomes.ACCEPTED ?? 0) >= report.lifecycles * 0.9, `most lifecycles end accepted despite the faults: ${summary}`);
});
