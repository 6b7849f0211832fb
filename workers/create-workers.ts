import { ACTIVITY_SHUTDOWN_GRACE_MS } from './graceful-exit';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createWebhookActivities } from '../activities/webhooks';
import { blobStoreFor } from '../lib/storage/blob-store';
import { anafBudget, plaintextPayloadsRefused } from '../lib/observability/metrics';
import type { AppConfig } from '../lib/config/config';
import type { Logger } from '../lib/observability/logger';
import { dataConverterFor } from '../lib/temporal/temporal-client';
import { TokenSealer } from '../lib/crypto/token-seal';
import { activityInterceptors, lifecycleMetricsSinks, WORKFLOW_INTERCEPTOR_MODULES } from './interceptors';
import { DailyQuotaGuard } from '../lib/anaf/anaf-daily-quotas';
import { ANAF_CALL_TOKEN_CACHE_MS } from '../activities/oauth/token-provider';
import { OrganizationMemos } from '../services/clients/organization-memo';
import { ANAF_SERVICES, type AnafServiceDescriptor, type ServiceActivities, type ServiceActivityDeps } from '../services';

export interface WorkerDeps {
  config: AppConfig;
  connection: NativeConnection;
  /** A client for activities that talk to our own workflows (token hand-over, sweeps). */
  client: Client;
  logger: Logger;
  /** Prebundled workflow code (production); without it the worker bundles `workflowsPath`. */
  workflowBundle?: WorkflowBundleOption;
  /** Default workflows/index.ts, the one list of workflow exports. */
  workflowsPath?: string;
  /** Default ANAF_SERVICES (services/index.ts): whose activities the workers run. */
  services?: readonly AnafServiceDescriptor[];
}

export function createActivityDeps(deps: Pick<WorkerDeps, 'config' | 'client' | 'logger'>): ServiceActivityDeps {
  return {
    config: deps.config,
    client: deps.client,
    logger: deps.logger,
    sealer: new TokenSealer(deps.config.tokenSealing),
    blobs: blobStoreFor(deps.config.dataDir),
    // Per process on purpose (lib/anaf/anaf-daily-quotas.ts): submission and read activities spend one count.
    quotas: new DailyQuotaGuard(deps.config.efactura.dailyQuotas),
    // Token routing and environment choice of every service read one cached memo per organization.
    organizations: new OrganizationMemos(deps.client, ANAF_CALL_TOKEN_CACHE_MS),
  };
}

/**
 * Outside the sandbox a worker accepts encrypted payloads only: whoever reaches Temporal's
 * port without PAYLOAD_ENCRYPTION_KEYS cannot signal or update a workflow (e.g. `resolve`).
 */
function workerDataConverter({ config, logger }: Pick<WorkerDeps, 'config' | 'logger'>) {
  if (config.anaf.env === 'sandbox') return dataConverterFor(config);
  return dataConverterFor(config, {
    refusePlaintext: {
      onRefused(encoding) {
        plaintextPayloadsRefused.inc();
        logger.warn({ encoding }, 'unencrypted payload refused (sent to Temporal without our payload key)');
      },
    },
  });
}

/**
 * Two workers in one process: the orchestration worker (workflows and activities that
 * only talk to Temporal or local storage) and the ANAF-calls worker, whose task queue
 * carries the one rate limit every worker process shares — the Temporal server enforces
 * maxTaskQueueActivitiesPerSecond across all pollers of that queue, so it must be set
 * identically everywhere (it comes from ANAF_CALLS_PER_MINUTE).
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const { config, connection } = deps;
  const dataConverter = workerDataConverter(deps);
  const activityDeps = createActivityDeps(deps);
  const workflowSource = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath: deps.workflowsPath ?? require.resolve('../workflows') };
  const activities = activitiesByQueue(deps.services ?? ANAF_SERVICES, activityDeps);
  // Request ids into activity logs; finished lifecycles into metrics (workers/interceptors.ts).
  const interceptors = { activity: [activityInterceptors(deps.logger)], workflowModules: WORKFLOW_INTERCEPTOR_MODULES };
  anafBudget.set({ queue: config.temporal.anafTaskQueue }, config.temporal.anafCallsPerSecond * 60);
  anafBudget.set({ queue: config.temporal.banciwsTaskQueue }, config.temporal.banciwsCallsPerSecond * 60);

  const orchestration = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    dataConverter,
    ...workflowSource,
    // Bounded: the SDK's default grows with the heap (≈0.66 MB per cached run, measured); an evicted
    // sleeping workflow is replayed when it next wakes, which is cheap for our short histories.
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
    interceptors,
    sinks: lifecycleMetricsSinks(),
    // Webhook delivery is the platform's, shared by every service's lifecycle.
    activities: { ...activities.orchestration, ...createWebhookActivities(config) },
    shutdownGraceTime: ACTIVITY_SHUTDOWN_GRACE_MS,
  });

  const anafCalls = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.anafTaskQueue,
    dataConverter,
    interceptors,
    activities: activities.anafCalls,
    maxTaskQueueActivitiesPerSecond: config.temporal.anafCallsPerSecond,
    // On shutdown (SIGTERM, a stall) an ANAF call in flight finishes rather than being cut off mid-upload.
    shutdownGraceTime: ACTIVITY_SHUTDOWN_GRACE_MS,
  });

  // financiart.anaf.ro is another host with another budget: its own rate-limited queue.
  const banciwsCalls = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.banciwsTaskQueue,
    dataConverter,
    interceptors,
    activities: activities.banciwsCalls,
    maxTaskQueueActivitiesPerSecond: config.temporal.banciwsCallsPerSecond,
    shutdownGraceTime: ACTIVITY_SHUTDOWN_GRACE_MS,
  });

  return [orchestration, anafCalls, banciwsCalls];
}

/** Every service's activities merged per task queue; two services registering one activity name is a mistake caught here. */
function activitiesByQueue(services: readonly AnafServiceDescriptor[], deps: ServiceActivityDeps): Required<ServiceActivities> {
  const queues: Required<ServiceActivities> = { orchestration: {}, anafCalls: {}, banciwsCalls: {} };
  for (const service of services) {
    for (const [queue, activities] of Object.entries(service.activities?.(deps) ?? {}) as Array<[keyof ServiceActivities, object]>) {
      const taken = Object.keys(activities).filter((name) => name in queues[queue]);
      if (taken.length > 0) throw new Error(`service ${service.name} registers activities already registered: ${taken.join(', ')}`);
      Object.assign(queues[queue], activities);
    }
  }
  return queues;
}

/** Runs the workers until they are shut down (signal or `shutdown()`), failing fast if one dies. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.run()));
  } catch (err) {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    throw err;
  }
}
