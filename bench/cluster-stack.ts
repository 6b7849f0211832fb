/**
 * The bench harness on the real cluster (`npm run cluster`, started when it is not running):
 * its worker processes and API reach the cluster's frontend over mTLS, on a task queue of their
 * own, so the cluster's own workers never take their tasks. Its chaos step is the cluster's:
 * the history service, then the matching service, are stopped and started again, then
 * PostgreSQL is stopped as if it crashed and started again.
 */
import { clusterPaths, ensureClusterRunning, restartPostgres, restartTemporalService } from '../scripts/cluster';
import { CLUSTER_HARNESS_TASK_QUEUES, TEMPORAL_SERVICES } from '../scripts/cluster/server-config';
import { clusterTlsEnv, ensureClusterTls } from '../scripts/cluster/tls';
import { pool } from '../devkit/pool';
import { BENCH_TENANT } from '../devkit/process-harness';
import type { TemporalStackFactory } from '../devkit/temporal-stack';
import type { AppConfig } from '../lib/config/config';
import { connectClient } from '../lib/temporal/temporal-client';
import { rateLimitedTaskQueuesFor } from '../lib/temporal/task-queues';

/**
 * The harness's ANAF queues must run on one partition, as the cluster's own do (its dynamic config,
 * scripts/cluster/server-config.ts): checked with the server, which lists a queue's partitions.
 */
async function assertSinglePartition(config: AppConfig, taskQueue: string): Promise<void> {
  if (!CLUSTER_HARNESS_TASK_QUEUES.includes(taskQueue)) {
    throw new Error(
      `task queue ${taskQueue} is not in CLUSTER_HARNESS_TASK_QUEUES (scripts/cluster/server-config.ts): its ANAF queues would have 4 partitions`,
    );
  }
  const client = await connectClient(config);
  try {
    for (const name of rateLimitedTaskQueuesFor(taskQueue)) {
      const listed = await client.workflowService.listTaskQueuePartitions({ namespace: config.temporal.namespace, taskQueue: { name } });
      const count = listed.activityTaskQueuePartitions?.length ?? 0;
      if (count !== 1)
        throw new Error(
          `${name} has ${count} activity partitions on the cluster, not 1: restart it (npm run cluster -- --stop, then npm run cluster) so it reads its dynamic config`,
        );
    }
  } finally {
    await client.connection.close();
  }
}

/**
 * Every harness run shares the cluster's namespace and the bench tenant, so workflow ids repeat
 * across runs: a run that ended without its workers (a chaos run, an interrupted bench) leaves its
 * lifecycles and the organization's authorization workflow running on its own task queue, where
 * no worker polls any more. The next run's Update-with-Start would wait on that authorization
 * forever, and its leftover lifecycles would spend the next run's budget. So they are terminated
 * first (the bench tenant's ids only: `bench/…`).
 */
async function endEarlierHarnessRuns(config: AppConfig, onOutput: (line: string) => void): Promise<void> {
  const client = await connectClient(config);
  try {
    const namespace = config.temporal.namespace;
    const query = `WorkflowId STARTS_WITH '${BENCH_TENANT.tenant}/' AND ExecutionStatus = 'Running'`;
    const executions: Array<{ workflowId?: string | null; runId?: string | null }> = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1000, nextPageToken });
      for (const e of page.executions ?? []) if (e.execution) executions.push(e.execution);
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    await pool(executions, 16, (execution) =>
      client.workflowService
        .terminateWorkflowExecution({
          namespace,
          workflowExecution: execution,
          reason: 'an earlier bench harness run on the cluster (bench/cluster-stack.ts)',
        })
        .catch((err: unknown) => {
          if (!/not found|already completed/i.test(String(err))) throw err;
        }),
    );
    if (executions.length) onOutput(`cluster: terminated ${executions.length} workflows left running by earlier harness runs`);
  } finally {
    await client.connection.close();
  }
}

export const clusterStack: TemporalStackFactory = async ({ taskQueue, onOutput }) => {
  const config = await ensureClusterRunning();
  await assertSinglePartition(config, taskQueue);
  await endEarlierHarnessRuns(config, onOutput);
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
