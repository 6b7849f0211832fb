import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '../../devkit/ports';
import { startDevServer } from '../../lib/temporal/dev-server';

/**
 * `npm run dev`'s Temporal server (and the devkit's, through it) stops whatever state it is in:
 * one already killed by a signal has a null exitCode and no 'exit' left to wait for, and waiting
 * for it kept a CI test process alive for good.
 */
test('stop() returns at once for a dev server already killed by a signal', { timeout: 60_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-devserver-'));
  try {
    const server = await startDevServer({ dataDir, namespace: 'default', port: await freePort(), uiPort: await freePort() });
    const exited = once(server.process, 'exit');
    server.process.kill('SIGKILL');
    await exited;
    const outcome = await Promise.race([
      server.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(r, 2_000, 'still waiting after 2 s')).then((x) => x as string),
    ]);
    assert.equal(outcome, 'stopped');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
