import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Logger } from '../lib/observability/logger';
import { lifecyclesFinished } from '../lib/observability/metrics';
import { runWithRequestId } from '../lib/observability/request-context';
import type { LifecycleMetricsSinks } from '../workflows/interceptors';
import { requestIdFromHeaders } from '../lib/observability/request-id-header';

/** Workflow interceptor modules; the prebundle (workers/build-bundle.ts) must list the same. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/interceptors')];

/** Benign failures (e.g. EfacturaNotReady while polling) are expected retries, not problems. */
function isBenign(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.category === ApplicationFailureCategory.BENIGN;
}

/**
 * Every activity that fails logs one line, tagged with the request id that caused its
 * workflow (from the Temporal header), and the SDK's own activity logger (`Context.log`)
 * gets the same id. Failure lines carry the error type and message only — never inputs,
 * which may hold sealed tokens or documents. Completions log at debug: Temporal's history
 * already records each one with its times, and a line per activity at info (a child logger
 * whose bindings pino redacts, then a synchronous write) was ≈ 5% of a busy worker's CPU
 * (bench/RESULTS.md section 1). A line's fields are built only when its level is on.
 */
export function activityInterceptors(logger: Logger): ActivityInterceptorsFactory {
  return (ctx) => {
    let requestId: string | undefined;
    return {
      inbound: {
        async execute(input, next) {
          requestId = requestIdFromHeaders(input.headers);
          const info = ctx.info;
          const line = (level: 'debug' | 'warn', fields: Record<string, unknown>, message: string) => {
            if (!logger.isLevelEnabled(level)) return;
            const { activityType: activity, workflowExecution, attempt } = info;
            logger[level](
              { activity, workflowId: workflowExecution?.workflowId, attempt, ...(requestId ? { requestId } : {}), ...fields },
              message,
            );
          };
          const started = Date.now();
          // A liveness heartbeat: when a worker dies (SIGKILL, OOM, lost host) its activities are
          // retried after the heartbeat timeout (seconds) instead of the start-to-close timeout
          // (minutes, sized for ANAF's slowest answers). Progress heartbeats of the activity itself still go through.
          const every = info.heartbeatTimeoutMs ? Math.max(1_000, Math.floor(info.heartbeatTimeoutMs / 3)) : 0;
          const alive = every ? setInterval(() => ctx.heartbeat(), every) : undefined;
          try {
            // Workflows this activity starts or signals through our client inherit the id.
            const result = await (requestId ? runWithRequestId(requestId, () => next(input)) : next(input));
            line('debug', { durationMs: Date.now() - started }, 'activity completed');
            return result;
          } catch (err) {
            const e = err as { name?: string; type?: string; message?: string };
            line(
              isBenign(err) ? 'debug' : 'warn',
              { durationMs: Date.now() - started, failure: e?.type ?? e?.name, message: e?.message },
              'activity failed',
            );
            throw err;
          } finally {
            clearInterval(alive);
          }
        },
      },
      outbound: {
        getLogAttributes: (attrs, next) => next(requestId ? { ...attrs, requestId } : attrs),
      },
    };
  };
}

/** Where workflows report finished lifecycles (see workflows/interceptors.ts); not called on replay. */
export function lifecycleMetricsSinks(): InjectedSinks<LifecycleMetricsSinks> {
  return {
    anafFlowMetrics: {
      lifecycleFinished: {
        fn: (_info, service, outcome) => lifecyclesFinished.inc({ service, outcome }),
        callDuringReplay: false,
      },
    },
  };
}
