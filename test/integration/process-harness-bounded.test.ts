import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { within } from '../../lib/process/bounded';
import { lastActivityFailureType } from '../../devkit/chaos/checks';
import { Harness } from '../../devkit/process-harness';
import { eventually } from '../../devkit/wait';

/** The process's state letter in /proc (T: stopped). */
function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * The process harness when Temporal stops answering or dies under it, as in the chaos suite:
 * once a CI run's chaos test-file process hung for good (0% CPU, no child left) because a wait
 * of the harness could only end on a Temporal that was gone. Every read ends with an error in
 * bounded time, and close() ends and frees the ports that kept the process alive.
 */
describe('process harness with a Temporal server that froze, then died by a signal', () => {
  let harness: Harness;
  let serverPid: number;

  before(async () => {
    harness = await Harness.start({ label: 'bounded' });
    serverPid = harness.temporal.serverPids()[0]!;
    // A live connection first: a frozen server then keeps it open and answers nothing.
    await assert.rejects(lastActivityFailureType(harness.client, 'no-such-workflow'), /not found/i);
  });

  after(() => {
    try {
      process.kill(serverPid, 'SIGKILL');
    } catch {
      // gone already, as the second test leaves it
    }
  });

  test('a history read of the chaos checks gives up on a server that does not answer', { timeout: 60_000 }, async () => {
    process.kill(serverPid, 'SIGSTOP');
    // Every thread stopped, not one still finishing the next answer on the other core.
    await eventually(
      async () => processState(serverPid),
      (state) => state === 'T',
      'the Temporal server stopped',
      5_000,
    );
    const started = Date.now();
    await assert.rejects(lastActivityFailureType(harness.client, 'no-such-workflow'), /deadline/i);
    assert.ok(Date.now() - started < 30_000, `gave up after ${Date.now() - started} ms`);
  });

  test('close() ends, sandbox and API closed, when the server already died by a signal', { timeout: 90_000 }, async () => {
    process.kill(serverPid, 'SIGKILL'); // a stopped process dies of SIGKILL too: exitCode null, signalCode SIGKILL
    // Reaped, so its 'exit' has been emitted already, as when a server died long before close().
    await eventually(
      async () => fs.existsSync(`/proc/${serverPid}`),
      (exists) => !exists,
      'the Temporal server reaped',
      5_000,
    );
    const started = Date.now();
    await within(harness.close(), 60_000, 'harness.close()');
    // Not even the harness's last-resort bound on stopping Temporal (30 s): a server already gone is not waited for.
    assert.ok(Date.now() - started < 20_000, `close() took ${Date.now() - started} ms`);
    await assert.rejects(request(harness.sandbox.url), /ECONNREFUSED/);
    await assert.rejects(request(harness.apiUrl), /ECONNREFUSED/);
  });
});
