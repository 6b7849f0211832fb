/**
 * The bench harness on the real cluster (`npm run cluster`, started when it is not running):
 * its worker processes and API reach the cluster's frontend over mTLS, on a task queue of their
 * own, so the cluster's own workers never take their tasks. Its chaos step is the cluster's:
 * the history service, then the matching service, are stopped and started again, then
 * PostgreSQL is stopped as if it crashed and started again.
 */
import { clusterPaths, ensureClusterRunning, restartPostgres, restartTemporalService } from '../scripts/cluster';
import { TEMPORAL_SERVICES } from '../scripts/cluster/server-config';
import { clusterTlsEnv, ensureClusterTls } from '../scripts/cluster/tls';
import type { TemporalStackFactory } from '../devkit/temporal-stack';

export const clusterStack: TemporalStackFactory = async ({ onOutput }) => {
  const config = await ensureClusterRunning();
  const paths = clusterPaths(config);
  const tls = await ensureClusterTls(paths.clusterDir);
  return {
    address: config.temporal.address!,
    env: clusterTlsEnv(tls),
    serverPids: () => TEMPORAL_SERVICES.flatMap((s) => paths.processes.alive(`temporal-${s}`)?.pid ?? []),
    async restart(signal) {
      const started = performance.now();
      for (const service of ['history', 'matching'] as const) {
        const ms = await restartTemporalService(config, service, signal);
        onOutput(`chaos: temporal ${service} restarted in ${ms.toFixed(0)} ms`);
      }
      if (!process.env.CLUSTER_POSTGRES_URL) {
        const ms = await restartPostgres(config, 'immediate');
        onOutput(`chaos: PostgreSQL crashed (immediate stop) and restarted in ${ms.toFixed(0)} ms`);
      }
      return performance.now() - started;
    },
    // The cluster outlives the run: `npm run cluster -- --stop` ends it.
    stop: async () => undefined,
  };
};
