/**
 * `node --import tsx bench/floor/worker.ts`: the floor worker process, the same pair of
 * workers as workers/main.ts (orchestration queue + a rate-limited ANAF queue, same cache
 * bound) running bench/floor/workflow.ts and nothing of ours. Configured by the harness env.
 */
import fs from 'node:fs';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { floorActivities } from './activities';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  Runtime.install({});
  // mTLS when the harness runs on the cluster (the same TEMPORAL_TLS_* files the product's worker reads).
  const file = (name: string) => (process.env[name] ? fs.readFileSync(process.env[name]) : undefined);
  const [crt, key, ca] = [file('TEMPORAL_TLS_CERT'), file('TEMPORAL_TLS_KEY'), file('TEMPORAL_TLS_CA')];
  const tls =
    crt && key
      ? { clientCertPair: { crt, key }, serverRootCACertificate: ca, serverNameOverride: process.env.TEMPORAL_TLS_SERVER_NAME }
      : undefined;
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS'), tls });
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = env('FLOOR_TASK_QUEUE');
  const anafQueue = env('FLOOR_ANAF_TASK_QUEUE');
  const orchestration = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./workflow'),
    maxCachedWorkflows: Number(process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 200),
  });
  const anaf = await Worker.create({
    connection,
    namespace,
    taskQueue: anafQueue,
    activities: floorActivities({ base: env('ANAF_API_BASE_URL'), token: env('FLOOR_TOKEN'), supplierCif: env('FLOOR_SUPPLIER_CIF') }),
    maxTaskQueueActivitiesPerSecond: Number(process.env.ANAF_CALLS_PER_MINUTE ?? 950) / 60,
  });
  console.log('worker started');
  try {
    await Promise.all([orchestration.run(), anaf.run()]);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
