import fs from 'node:fs';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/observability/logger';
import { countNeedsAttentionWith } from '../lib/observability/metrics';
import { ensureSearchAttributes } from '../lib/temporal/search-attribute-registration';
import { connectClient, temporalConnectionOptions } from '../lib/temporal/temporal-client';
import { temporalLoggerFor } from '../lib/temporal/temporal-logger';
import { ensureBanciwsInboxSchedules } from './banciws-schedules';
import { BUNDLE_PATH } from './build-bundle';
import { createWorkers, runWorkers } from './create-workers';
import { startMetricsServer } from './metrics-server';
import { shutDownThenExit, STALL_SHUTDOWN_GRACE_MS } from './graceful-exit';
import { WORKER_STALLED_EXIT_CODE, watchWorkflowProgress } from './stall-watchdog';
import { workflowQueueProbe } from './workflow-queue-probe';
import { ensureSchedules } from './schedules';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { role: 'worker' });
  const logger = createLogger({ level: config.logLevel, name: 'anaf-flow-worker' });
  // The Runtime owns SIGINT/SIGTERM: workers stop polling, finish in-flight tasks, then run() resolves.
  // The SDK core exports Temporal's own metrics (temporal_*) for the worker's /metrics to include.
  const coreBind = config.metrics.workerPort ? config.metrics.temporalCoreBind : undefined;
  Runtime.install({
    logger: temporalLoggerFor(logger),
    ...(coreBind ? { telemetryOptions: { metrics: { prometheus: { bindAddress: coreBind } } } } : {}),
  });
  const metrics = config.metrics.workerPort
    ? await startMetricsServer({
        port: config.metrics.workerPort,
        host: config.metrics.workerHost,
        token: config.metrics.token,
        temporalCoreBind: coreBind,
        logger,
      })
    : undefined;

  const connectionOptions = temporalConnectionOptions(config);
  const address = connectionOptions.address;
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const added = await ensureSearchAttributes(connection, config.temporal.namespace);
    if (added.length) logger.info({ added }, 'registered search attributes');
  } catch (err) {
    logger.warn({ err }, 'could not verify search attributes (missing operator permission?)');
  }

  const client = await connectClient(config, address);
  countNeedsAttentionWith(async () => (await client.workflow.count(`AnafNeedsAttention = true AND ExecutionStatus = 'Running'`)).count);
  await ensureSchedules(client, config, logger);
  await ensureBanciwsInboxSchedules(client, config, logger);

  const prebundled = process.env.WORKFLOW_BUNDLE ?? (fs.existsSync(BUNDLE_PATH) ? BUNDLE_PATH : undefined);
  const workers = await createWorkers({
    config,
    connection,
    client,
    logger,
    workflowBundle: prebundled ? { codePath: prebundled } : undefined,
  });
  const stopWatchdog = config.temporal.stallExitMs
    ? watchWorkflowProgress(
        workflowQueueProbe(client, config.temporal.namespace, config.temporal.taskQueue, workers[0]!.options.identity),
        {
          stallMs: config.temporal.stallExitMs,
          logger,
          // In-flight ANAF calls finish first (an upload cut mid-way costs a reconciliation), bounded.
          onStall: () => shutDownThenExit(workers, { graceMs: STALL_SHUTDOWN_GRACE_MS, exitCode: WORKER_STALLED_EXIT_CODE, logger }),
        },
      )
    : undefined;
  logger.info(
    {
      address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      anafTaskQueue: config.temporal.anafTaskQueue,
      anafCallsPerMinute: Math.round(config.temporal.anafCallsPerSecond * 60),
      prebundled: Boolean(prebundled),
      metrics: metrics?.url,
    },
    'worker started',
  );
  try {
    await runWorkers(workers);
  } finally {
    stopWatchdog?.();
    await connection.close();
    await client.connection.close();
    await metrics?.close();
    logger.info('worker stopped');
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
