import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { PostgresTarget } from './postgres';
import type { ClusterTls } from './tls';
import { rateLimitedTaskQueuesFor } from '../../lib/temporal/task-queues';

/**
 * The one Temporal server config file every service process reads (DATA_DIR/cluster/temporal.yaml,
 * 0600: it holds the database password) and its dynamic config. Small on purpose: the machine
 * is shared, so 4 history shards and warn-level logs.
 */

export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

export const FRONTEND_PORT = 7233;
export const SERVICE_PORTS: Record<TemporalService, { grpcPort: number; membershipPort: number }> = {
  frontend: { grpcPort: FRONTEND_PORT, membershipPort: 6933 },
  history: { grpcPort: 7234, membershipPort: 6934 },
  matching: { grpcPort: 7235, membershipPort: 6935 },
  worker: { grpcPort: 7239, membershipPort: 6939 },
};
export const NUM_HISTORY_SHARDS = 4;
export const PERSISTENCE_DB = 'temporal';
export const VISIBILITY_DB = 'temporal_visibility';

/**
 * What the dev server gets on its command line (lib/temporal/dev-server.ts) and a cluster needs too:
 * the new matcher honours task-queue priorities; search attributes take effect at once;
 * namespace changes reach every service within seconds.
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'matching.useNewMatcher': true,
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'system.namespaceCacheRefreshInterval': '2s',
};

/**
 * The task queues of the bench harness runs on the cluster (`npm run chaos -- --cluster`, `npm run
 * bench -- budget --cluster`): their ANAF queues get one partition too (bench/cluster-stack.ts
 * refuses a queue that is not here).
 */
export const CLUSTER_HARNESS_TASK_QUEUES = ['chaos', 'bench-budget', 'bench-throughput', 'bench-waiting'];

/**
 * One partition for each rate-limited ANAF queue: the server splits a queue's
 * `maxTaskQueueActivitiesPerSecond` across its partitions (4 by default) and orders by priority
 * inside each, so the budget and the priorities are exact only on one. Per queue (a
 * `taskQueueName` constraint), so every other queue keeps the default. Lowering the count of a
 * queue that has a backlog strands the tasks of the other partitions: lower write partitions first,
 * let the backlog drain, then read partitions.
 */
export function clusterDynamicConfig(taskQueues: string[]): Record<string, Array<{ value: unknown; constraints: Record<string, string> }>> {
  const config = Object.fromEntries(Object.entries(CLUSTER_DYNAMIC_CONFIG).map(([k, value]) => [k, [{ value, constraints: {} }]]));
  const queues = [...new Set(taskQueues.flatMap(rateLimitedTaskQueuesFor))];
  // Two arrays, not one shared: the YAML then repeats them instead of using an alias.
  const singlePartition = () => queues.map((taskQueueName) => ({ value: 1, constraints: { taskQueueName } }));
  return { ...config, 'matching.numTaskqueueReadPartitions': singlePartition(), 'matching.numTaskqueueWritePartitions': singlePartition() };
}

export function allPorts(): number[] {
  return Object.values(SERVICE_PORTS).flatMap((p) => [p.grpcPort, p.membershipPort]);
}

/** `taskQueues`: the product's main queues (TEMPORAL_TASK_QUEUE) whose ANAF queues get one partition. */
export function writeServerConfig(clusterDir: string, db: PostgresTarget, tls: ClusterTls, taskQueues: string[]): string {
  const dynamicConfigFile = path.join(clusterDir, 'dynamic-config.yaml');
  fs.writeFileSync(dynamicConfigFile, YAML.stringify(clusterDynamicConfig(taskQueues)));
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${db.host}:${db.port}`,
      connectProtocol: 'tcp',
      user: db.user,
      password: db.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: { 'postgres-default': store(PERSISTENCE_DB, 15), 'postgres-visibility': store(VISIBILITY_DB, 5) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      tls: {
        // mTLS on the frontend: clients need a certificate from the cluster's CA.
        frontend: {
          server: { certFile: tls.serverCert, keyFile: tls.serverKey, requireClientAuth: true, clientCaFiles: [tls.ca] },
          client: { serverName: 'localhost', rootCaFiles: [tls.ca] },
        },
        // Temporal's own system workers (schedules, batch, …) reach the frontend with theirs.
        systemWorker: {
          certFile: tls.systemWorkerCert,
          keyFile: tls.systemWorkerKey,
          client: { serverName: 'localhost', rootCaFiles: [tls.ca] },
        },
      },
    },
    services: Object.fromEntries(
      Object.entries(SERVICE_PORTS).map(([name, ports]) => [name, { rpc: { ...ports, bindOnLocalHost: true } }]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `localhost:${FRONTEND_PORT}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
  const file = path.join(clusterDir, 'temporal.yaml');
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
