import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { withRequestIdHeader } from './request-id-header';

/** The id of the API request being served, for everything it calls (see lib/observability/request-id-header.ts). */
const storage = new AsyncLocalStorage<{ requestId: string }>();

export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Puts the current request id in the header of every start, signal and update the client sends. */
export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  start: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
  signal: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
  signalWithStart: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
  startUpdate: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
  startUpdateWithStart: (input, next) =>
    next({
      ...input,
      workflowStartHeaders: withRequestIdHeader(input.workflowStartHeaders, currentRequestId()),
      updateHeaders: withRequestIdHeader(input.updateHeaders, currentRequestId()),
    }),
};
