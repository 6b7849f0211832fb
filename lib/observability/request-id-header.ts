import { defaultPayloadConverter, type Headers } from '@temporalio/common';

/**
 * One request id follows a case from the API request that caused it to every activity it
 * runs: the API keeps it in async-local storage (lib/observability/request-context.ts), a client
 * interceptor puts it in this Temporal header, the workflow interceptors
 * (workflows/interceptors.ts) copy it onto activities, child workflows and continue-as-new,
 * and the worker's activity interceptor tags log lines with it. Workflow-safe: no I/O.
 */
export const REQUEST_ID_TEMPORAL_HEADER = 'anaf-flow-request-id';

/** Request ids are not secret and headers bypass the payload codec, so the plain JSON converter is the right encoding. */
export function withRequestIdHeader(headers: Headers, requestId: string | undefined): Headers {
  if (!requestId || headers[REQUEST_ID_TEMPORAL_HEADER]) return headers;
  return { ...headers, [REQUEST_ID_TEMPORAL_HEADER]: defaultPayloadConverter.toPayload(requestId) };
}

export function requestIdFromHeaders(headers: Headers | undefined): string | undefined {
  const payload = headers?.[REQUEST_ID_TEMPORAL_HEADER];
  if (!payload) return undefined;
  try {
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
