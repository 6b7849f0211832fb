import type { Worker } from '@temporalio/worker';
import type { Logger } from '../lib/observability/logger';

/** How long a stopping worker lets in-flight activities (ANAF calls) run before cancelling them (Worker shutdownGraceTime). */
export const ACTIVITY_SHUTDOWN_GRACE_MS = 8_000;
/** How long a stalled worker waits for that shutdown before it exits anyway. */
export const STALL_SHUTDOWN_GRACE_MS = 10_000;

/**
 * Leave for a restart without cutting in-flight work: stop polling, let running activities
 * (ANAF calls) finish, then exit with `exitCode` — bounded by `graceMs`, because a wedged worker
 * may never finish shutting down. The exit code is set first, so a shutdown that completes
 * (main() returns) ends the process with it too.
 */
export function shutDownThenExit(
  workers: readonly Worker[],
  options: { graceMs: number; exitCode: number; logger: Logger; exit?: (code: number) => void },
): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  process.exitCode = options.exitCode;
  const timer = setTimeout(() => {
    options.logger.warn({ graceMs: options.graceMs }, 'shutdown did not finish in its grace; exiting now');
    exit(options.exitCode);
  }, options.graceMs);
  timer.unref();
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
}
