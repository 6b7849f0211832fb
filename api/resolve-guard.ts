import type { SignalDefinition } from '@temporalio/common';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, type RouteDefiner } from './define-route';
import { ApiError } from './errors';
import { type LoadedResource, loadResource, type WorkflowResource } from './workflow-resource';
import { WorkflowIdParam } from './workflow-schemas';
import type { z } from './zod';

/**
 * The BANCIWS and e-Transport workflows take an operator's decision as a signal, which they
 * keep until they next need one. Sent while nothing waits for it, a REUPLOAD or ADOPT_INDEX
 * would be applied to some later, unrelated lost answer; so the API refuses it unless the
 * case waits for a decision now: NEEDS_OPERATOR or RECONCILING (any action), or
 * WAITING_FOR_AUTHORIZATION (ABANDON only, where the workflow supports it). e-Factura makes
 * the same check inside its workflow (resolveSubmissionUpdate).
 */
const STUCK_STAGES = new Set(['NEEDS_OPERATOR', 'RECONCILING']);

export function refuseResolveUnlessStuck(
  stage: string,
  action: string,
  codes: { notStuck: string; abandonWhileWaitingForAuthorization?: boolean },
): void {
  if (STUCK_STAGES.has(stage)) return;
  if (stage === 'WAITING_FOR_AUTHORIZATION' && codes.abandonWhileWaitingForAuthorization) {
    if (action === 'ABANDON') return;
    throw new ApiError(409, 'RESOLVE_ACTION_NOT_ALLOWED', 'While waiting for an authorization only ABANDON is accepted');
  }
  throw new ApiError(409, codes.notStuck, `Nothing waits for an operator's decision (stage ${stage})`);
}

export interface ResolveBySignalSpec<V extends { stage: string }, A extends { action: string }> {
  path: string;
  summary: string;
  description: string;
  body: z.ZodType<A>;
  signal: SignalDefinition<[A]>;
  /** The resource's schema and presenter: the answer is the case as it was when the decision was sent. */
  schema: z.ZodType;
  present: (id: string, loaded: LoadedResource<V>) => unknown;
  /** The 409 for a case that has ended. */
  finished: { code: string; message: string };
  notStuck: string;
  abandonWhileWaitingForAuthorization?: boolean;
}

/** `POST {item}/resolve` for a workflow that takes the operator's decision as a signal: refused (409) unless the case waits for one. */
export function mountResolveBySignal<V extends { stage: string }, A extends { action: string }>(
  route: RouteDefiner,
  ctx: ApiContext,
  resource: WorkflowResource<V>,
  spec: ResolveBySignalSpec<V, A>,
): void {
  route(
    {
      method: 'post',
      permission: 'operate',
      path: spec.path,
      summary: spec.summary,
      description: spec.description,
      request: { params: WorkflowIdParam, body: spec.body },
      responses: { 202: jsonResponse('Sent to the workflow', spec.schema) },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const loaded = await loadResource(ctx, resource, tenant, params.id);
      if (loaded.status !== 'RUNNING' || loaded.view.stage === 'DONE') throw new ApiError(409, spec.finished.code, spec.finished.message);
      refuseResolveUnlessStuck(loaded.view.stage, body.action, {
        notStuck: spec.notStuck,
        ...(spec.abandonWhileWaitingForAuthorization ? { abandonWhileWaitingForAuthorization: true } : {}),
      });
      await ctx.workflows.handleFor(tenant, resource, params.id).signal(spec.signal, body);
      res.status(202).json(spec.present(params.id, loaded));
    },
  );
}
