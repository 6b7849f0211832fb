import { type ConnectionOptions, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * Calls that wait on the server by design: a workflow's result (long-polled history), an
 * update's outcome, update-with-start. While the connection is up they may take as long as
 * the workflow does (an ANAF read, a token exchange); while it is not, they get the short
 * deadline like every other call, so a route never hangs on a Temporal that is down.
 */
const WAITING_METHODS = new Set(
  ['GetWorkflowExecutionHistory', 'UpdateWorkflowExecution', 'PollWorkflowExecutionUpdate', 'ExecuteMultiOperation'].map(
    (m) => `/temporal.api.workflowservice.v1.WorkflowService/${m}`,
  ),
);

/** How long a waiting call may take on a live connection: above the 3-minute ANAF read workflows. */
export const WAITING_CALL_DEADLINE_MS = 5 * 60_000;

/** grpc-js connectivity state READY (a number in its enum; the package is not ours to import). */
const READY = 2;

interface ChannelOwner {
  client: { getChannel(): { getConnectivityState(tryToConnect: boolean): number } };
}

/**
 * The API's gRPC interceptors: every Temporal call gets a deadline (TEMPORAL_RPC_TIMEOUT_MS),
 * unless the code gave one (`client.withDeadline`), then the SDK's retries of UNAVAILABLE
 * inside it. Without the deadline those retries make a request wait about 20 s for a
 * Temporal that is down; with it, the route answers 503 TEMPORAL_UNAVAILABLE in time.
 * `connectionReady` says whether the channel is up (waiting calls then get WAITING_CALL_DEADLINE_MS).
 */
export function temporalDeadlineInterceptors(rpcTimeoutMs: number, connectionReady: () => boolean): GrpcInterceptor[] {
  const deadlines: GrpcInterceptor = (options, nextCall) => {
    if (options.deadline !== undefined) return nextCall(options) as ReturnType<GrpcInterceptor>;
    const waiting = WAITING_METHODS.has(options.method_definition.path) && connectionReady();
    // grpc-js types nextCall as its interface and the interceptor as returning the class; they are the same object.
    return nextCall({
      ...options,
      deadline: Date.now() + (waiting ? WAITING_CALL_DEADLINE_MS : rpcTimeoutMs),
    }) as ReturnType<GrpcInterceptor>;
  };
  return [deadlines, makeGrpcRetryInterceptor(defaultGrpcRetryOptions())];
}

/** Whether `connection`'s channel is connected (the SDK keeps its gRPC client protected; read, never changed). */
export function channelReady(connection: object): boolean {
  return (connection as ChannelOwner).client.getChannel().getConnectivityState(false) === READY;
}
