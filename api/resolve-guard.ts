import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, type RouteDefiner } from './define-route';
import { ApiError } from './errors';
import { isClosedWorkflowError, type LoadedResource, loadResource, type WorkflowResource } from './workflow-resource';
import { WorkflowIdParam } from './workflow-schemas';
import type { z } from './zod';

/**
 * The operator's resolve for BANCIWS and e-Transport, sent as the workflow's resolve Update:
 * its validator (workflows/shared/lifecycle/resolve.ts) refuses a decision unless the case
 * waits for one now, so a decision can never be kept for some later, unrelated lost answer
 * (a stage read here first could change before a signal arrived). The refusal's type is the
 * 409's code. e-Factura's route does the same with its own update.
 */

export interface ResolveByUpdateSpec<V extends { stage: string }, A extends { action: string }> {
  path: string;
  summary: string;
  description: string;
  body: z.ZodType<A>;
  update: UpdateDefinition<V, [A]>;
  /** The resource's schema and presenter: the answer is the case as the workflow saw it when it took the decision. */
  schema: z.ZodType;
  present: (id: string, loaded: LoadedResource<V>) => unknown;
  /** The 409 for a case that has ended. */
  finished: { code: string; message: string };
  /** Every failure type the workflow's validator refuses with (the 409's codes). */
  refusals: readonly string[];
  notStuck: string;
}

/** A refused resolve Update as its 409: the workflow's refusal type is the code. */
export function resolveRefusalError(
  err: unknown,
  spec: Pick<ResolveByUpdateSpec<{ stage: string }, { action: string }>, 'finished' | 'refusals' | 'notStuck'>,
): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    const known = cause instanceof ApplicationFailure && spec.refusals.includes(cause.type ?? '');
    return new ApiError(409, known ? (cause.type as string) : spec.notStuck, cause?.message ?? "Nothing waits for an operator's decision");
  }
  if (isClosedWorkflowError(err)) return new ApiError(409, spec.finished.code, spec.finished.message);
  return err;
}

/** `POST {item}/resolve`: the workflow's resolve Update, 409 (typed) when it refuses. */
export function mountResolveByUpdate<V extends { stage: string }, A extends { action: string }>(
  route: RouteDefiner,
  ctx: ApiContext,
  resource: WorkflowResource<V>,
  spec: ResolveByUpdateSpec<V, A>,
): void {
  route(
    {
      method: 'post',
      permission: 'operate',
      path: spec.path,
      summary: spec.summary,
      description: spec.description,
      request: { params: WorkflowIdParam, body: spec.body },
      responses: { 202: jsonResponse('Accepted by the workflow', spec.schema) },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const loaded = await loadResource(ctx, resource, tenant, params.id);
      if (loaded.status !== 'RUNNING' || loaded.view.stage === 'DONE') throw new ApiError(409, spec.finished.code, spec.finished.message);
      const handle = ctx.workflows.handleFor(tenant, resource, params.id);
      const view = await handle.executeUpdate(spec.update, { args: [body] }).catch((err: unknown) => {
        throw resolveRefusalError(err, spec);
      });
      res.status(202).json(spec.present(params.id, { ...loaded, view }));
    },
  );
}
