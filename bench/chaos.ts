/**
 * `npm run chaos`: the chaos suite in its full form (1,000 lifecycles by default;
 * CHAOS_LIFECYCLES, CHAOS_SEED, CHAOS_TIMEOUT_SECONDS change it). Exit code 1 unless it passed.
 * `npm run chaos -- --cluster`: the same on the cluster (`npm run cluster`), 3 workers, and its
 * Temporal restart is the history and matching services' and PostgreSQL's (bench/cluster-stack.ts).
 */
import { clusterStack } from './cluster-stack';
import { chaosShortfalls, runChaos } from '../devkit/chaos/suite';

async function main(): Promise<void> {
  const lifecycles = Number(process.env.CHAOS_LIFECYCLES ?? 1000);
  const onCluster = process.argv.includes('--cluster');
  const report = await runChaos({
    lifecycles,
    workers: onCluster ? 3 : 2,
    ...(onCluster ? { temporal: clusterStack } : {}),
    killEveryMs: (process.env.CHAOS_KILL_EVERY_SECONDS ?? '5-15').split('-').map((x) => Number(x) * 1000) as [number, number],
    maxKills: Number(process.env.CHAOS_MAX_KILLS ?? 30),
    restartTemporalAt: 0.4,
    faults: true,
    timeoutMs: Number(process.env.CHAOS_TIMEOUT_SECONDS ?? 1200) * 1000,
    seed: Number(process.env.CHAOS_SEED ?? 7),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(report, null, 2));
  const shortfalls = chaosShortfalls(report);
  console.log(shortfalls.length ? `chaos: FAILED\n${shortfalls.map((s) => `  - ${s}`).join('\n')}` : 'chaos: PASSED');
  if (shortfalls.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
