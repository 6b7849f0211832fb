import {
  isCancellation,
  proxySinks,
  type Sinks,
  workflowInfo,
  type WorkflowInterceptorsFactory,
  ContinueAsNew,
} from '@temporalio/workflow';
import { requestIdFromHeaders, withRequestIdHeader } from '../lib/observability/request-id-header';
import { AnafOutcome, AnafService } from '../lib/temporal/search-attributes';

/**
 * Workflow interceptors every worker installs (WorkerOptions.interceptors.workflowModules
 * and the prebundle's workflowInterceptorModules):
 * - the request id that started the workflow — or the latest signal/update that carried
 *   one — travels on to every activity, child workflow and continue-as-new;
 * - a finished lifecycle is reported to the worker's metrics through a sink (no I/O here,
 *   not called during replay, so workflow code stays deterministic).
 */
export interface LifecycleMetricsSinks extends Sinks {
  anafFlowMetrics: {
    lifecycleFinished(service: string, outcome: string): void;
  };
}

const { anafFlowMetrics } = proxySinks<LifecycleMetricsSinks>();

function finishedOutcome(result: unknown): string {
  const fromAttribute = workflowInfo().typedSearchAttributes.get(AnafOutcome);
  if (fromAttribute) return fromAttribute;
  const fromResult = (result as { outcome?: unknown } | null | undefined)?.outcome;
  return typeof fromResult === 'string' ? fromResult : 'COMPLETED';
}

function serviceName(): string {
  return workflowInfo().typedSearchAttributes.get(AnafService) ?? 'unknown';
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: string | undefined;
  const remember = (headers: Parameters<typeof requestIdFromHeaders>[0]) => {
    requestId = requestIdFromHeaders(headers) ?? requestId;
  };
  return {
    inbound: [
      {
        async execute(input, next) {
          remember(input.headers);
          let result: unknown;
          try {
            result = await next(input);
          } catch (err) {
            if (!(err instanceof ContinueAsNew)) {
              anafFlowMetrics.lifecycleFinished(serviceName(), isCancellation(err) ? 'CANCELLED' : 'FAILED');
            }
            throw err;
          }
          anafFlowMetrics.lifecycleFinished(serviceName(), finishedOutcome(result));
          return result;
        },
        async handleSignal(input, next) {
          remember(input.headers);
          return next(input);
        },
        async handleUpdate(input, next) {
          remember(input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, requestId) }),
        scheduleLocalActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, requestId) }),
        startChildWorkflowExecution: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, requestId) }),
        continueAsNew: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, requestId) }),
        getLogAttributes: (input, next) => next(requestId ? { ...input, requestId } : input),
      },
    ],
  };
};
