import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { exitedWithin, hasExited, settledWithin, stopChild, within } from '../../lib/process/bounded';

/** A node child that ignores SIGTERM (as a worker stuck in its graceful shutdown would) and never ends by itself. */
function stubbornChild() {
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const up = new Promise((resolve) => child.stdout.once('data', resolve));
  return { child, up };
}

test('a child already gone by a signal counts as exited: stopChild and exitedWithin return at once, no second exit awaited', async () => {
  const { child, up } = stubbornChild();
  await up;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  // What hung CI: exitCode stays null after a signal, and 'exit' has fired already.
  assert.equal(child.exitCode, null);
  assert.ok(hasExited(child));
  const started = Date.now();
  assert.equal(await exitedWithin(child, 60_000), true);
  await stopChild(child, 'SIGTERM', 60_000);
  assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
});

test('stopChild sends SIGKILL once the grace period is over when SIGTERM is ignored', async () => {
  const { child, up } = stubbornChild();
  await up;
  await stopChild(child, 'SIGTERM', 300);
  assert.equal(child.signalCode, 'SIGKILL');
});

test('within rejects naming what did not answer; settledWithin says false, never throws', async () => {
  const never = new Promise<never>(() => undefined);
  await assert.rejects(within(never, 50, 'the history read'), /the history read: no answer within 50 ms/);
  assert.equal(await within(Promise.resolve(7), 1_000, 'x'), 7);
  assert.equal(await settledWithin(never, 50), false);
  assert.equal(await settledWithin(Promise.reject(new Error('gone')), 1_000), true);
});
