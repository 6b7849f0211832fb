/**
 * ANAF calls run on their own task queue so that one rate limit
 * (maxTaskQueueActivitiesPerSecond, enforced by the Temporal server) covers every worker
 * process. Workflows derive its name from their own queue, so no configuration has to
 * reach workflow code and every deployment keeps the pair together.
 */
export function anafTaskQueueFor(taskQueue: string): string {
  return `${taskQueue}-anaf-calls`;
}

/**
 * BANCIWS (financiart.anaf.ro) is another ANAF host with its own budget, so its calls get
 * their own rate-limited queue (BANCIWS_CALLS_PER_MINUTE); api.anaf.ro and logincert share
 * the anaf-calls queue.
 */
export function banciwsTaskQueueFor(taskQueue: string): string {
  return `${taskQueue}-banciws-calls`;
}

/**
 * The queues a server-side rate limit paces: each must run on one task-queue partition, since the
 * server splits `maxTaskQueueActivitiesPerSecond` across a queue's partitions and orders by
 * priority only inside each (lib/temporal/dev-server.ts, scripts/cluster/server-config.ts).
 */
export function rateLimitedTaskQueuesFor(taskQueue: string): string[] {
  return [anafTaskQueueFor(taskQueue), banciwsTaskQueueFor(taskQueue)];
}
