import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Router } from 'express';
import {
  ANAF_API_ENVIRONMENTS,
  type AnafApiEnvironment,
  defaultApiEnvironment,
  type EnvironmentOverrides,
  hasApiEnvironments,
  readEnvironmentOverrides,
} from '../lib/anaf/anaf-environments';
import { OAUTH_SCOPES, type OAuthScope } from '../lib/config/config';
import { isUnknownUpdate, resendDelayMs, UPDATE_SENDS, updateDroppedUnprocessed } from '../lib/temporal/update-failures';
import { sha256Hex } from '../lib/storage/blob-store';
import type { OrganizationRecord } from '../workflows/organization';
import { deleteOrganizationSignal, deleteOrganizationUpdate, LINKS_REMAIN, organizationWorkflowId } from '../workflows/organization';
import { type EnvironmentChanges, setEnvironmentsUpdate } from '../workflows/organization-environments';
import { AnafCif, AnafService, AnafTenant } from '../lib/temporal/search-attributes';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { routeDefiner } from './define-route';
import { ApiError } from './errors';
import { unlinkAllOf } from './authorization-routes';
import { getOrganization, OrganizationParams, organizationNotFound, TaxpayerCodeSchema } from './organizations';

export {
  CifParams,
  CifSchema,
  getOrganization,
  OrganizationParams,
  type OrganizationWithEnvironments,
  TaxpayerCodeSchema,
} from './organizations';
import { listAuthorizations } from './oauth-authorizations';
import { visibilityString } from './workflow-access';
import { z } from './zod';

/** The ANAF environment a lifecycle's calls went to (issue 16 item 5). */
export const AnafEnvironmentField = z
  .enum(ANAF_API_ENVIRONMENTS)
  .optional()
  .openapi({ description: "ANAF's /test or /prod where this lifecycle's calls go, fixed at its start" });

const ScopeEnvironmentSchema = z
  .object({
    environment: z.enum(ANAF_API_ENVIRONMENTS).optional().openapi({
      description: 'Absent when ANAF_API_BASE_URL ends in neither /test nor /prod (a proxy): which one it reaches is not known',
    }),
    default: z.boolean().openapi({ description: 'true: the global default (ANAF_ENV); false: set for this organization' }),
  })
  .openapi('ScopeEnvironment');

export const OrganizationSchema = z
  .object({
    cif: z.string(),
    name: z.string(),
    createdAt: z.string().datetime(),
    environments: z.object({ EFACTURA: ScopeEnvironmentSchema, ETRANSPORT: ScopeEnvironmentSchema }).openapi({
      description: "ANAF's environment per scope for this organization's next calls (validare and transformare always go to /prod)",
    }),
  })
  .openapi('Organization');

const EnvironmentChangesSchema = z
  .object({
    environments: z.record(z.string(), z.unknown()).openapi({
      description: 'Per scope (EFACTURA, ETRANSPORT): "test" or "prod", or null for the global default; scopes left out are unchanged',
      example: { EFACTURA: 'prod', ETRANSPORT: null },
    }),
  })
  .openapi('OrganizationEnvironmentChanges');

const CreateOrganization = z.object({ cif: TaxpayerCodeSchema, name: z.string().trim().min(1).max(200) }).openapi('CreateOrganization');

/** The environment of a scope's next calls for an organization: its own setting, else the global default. */
export function effectiveEnvironment(
  ctx: ApiContext,
  overrides: EnvironmentOverrides,
  scope: OAuthScope,
): { environment: AnafApiEnvironment; default: boolean } {
  return environmentOf(ctx.config.anaf.apiBaseUrl, overrides, scope);
}

function environmentOf(apiBaseUrl: string, overrides: EnvironmentOverrides, scope: OAuthScope) {
  const own = overrides[scope];
  return own ? { environment: own, default: false } : { environment: defaultApiEnvironment(apiBaseUrl), default: true };
}

/**
 * A request's fingerprint for its Idempotency-Key, bound to the ANAF environment it will go to: the same
 * key and body sent again after the organization moved to the other environment is another request (409
 * IDEMPOTENCY_KEY_REUSED), not the earlier submission handed back while nothing reaches the new one. The
 * default environment leaves the fingerprint as it always was, so retries across an upgrade still match.
 */
export function environmentBoundSha256(requestSha256: string, choice: { environment: AnafApiEnvironment; default: boolean }): string {
  return choice.default ? requestSha256 : sha256Hex(`${requestSha256}|anaf-environment=${choice.environment}`);
}

function view(
  ctx: ApiContext,
  r: Pick<OrganizationRecord, 'cif' | 'name' | 'createdAt'>,
  overrides: EnvironmentOverrides,
): z.infer<typeof OrganizationSchema> {
  return { cif: r.cif, name: r.name, createdAt: r.createdAt, environments: scopeEnvironments(ctx.config.anaf.apiBaseUrl, overrides) };
}

/** What GET shows per scope; behind a proxy base URL the environment is not known (and no override applies). */
export function scopeEnvironments(
  apiBaseUrl: string,
  overrides: EnvironmentOverrides,
): Record<OAuthScope, { environment?: AnafApiEnvironment; default: boolean }> {
  if (!hasApiEnvironments(apiBaseUrl)) return { EFACTURA: { default: true }, ETRANSPORT: { default: true } };
  return { EFACTURA: environmentOf(apiBaseUrl, overrides, 'EFACTURA'), ETRANSPORT: environmentOf(apiBaseUrl, overrides, 'ETRANSPORT') };
}

/**
 * The PATCH body's changes, or 422: an unknown scope (UNKNOWN_SCOPE) or value (ENVIRONMENT_INVALID), or test/prod
 * behind a proxy base URL (ENVIRONMENT_UNSUPPORTED: workers could not follow it; null, the default, is accepted).
 */
export function environmentChanges(raw: Record<string, unknown>, apiBaseUrl: string): EnvironmentChanges {
  const changes: EnvironmentChanges = {};
  for (const [scope, env] of Object.entries(raw)) {
    if (!(OAUTH_SCOPES as readonly string[]).includes(scope)) {
      throw new ApiError(422, 'UNKNOWN_SCOPE', `"${scope}" is not a scope; use ${OAUTH_SCOPES.join(' or ')}`, { scope });
    }
    if (env !== null && !(ANAF_API_ENVIRONMENTS as readonly unknown[]).includes(env)) {
      throw new ApiError(422, 'ENVIRONMENT_INVALID', `${scope}: use "test", "prod" or null (the global default)`, { scope });
    }
    if (env !== null && !hasApiEnvironments(apiBaseUrl)) {
      throw new ApiError(
        422,
        'ENVIRONMENT_UNSUPPORTED',
        `${scope}: ANAF_API_BASE_URL ends in neither /test nor /prod (a proxy), so it has one environment; only null is accepted`,
        { scope },
      );
    }
    changes[scope as OAuthScope] = env as AnafApiEnvironment | null;
  }
  return changes;
}

/** How many times DELETE removes the links and asks for the delete, when a link was made meanwhile. */
export const DELETE_ATTEMPTS = 3;
/** The delete update's handler and the workflow's end are one workflow task: seconds mean the workers are not keeping up (503). */
const DELETE_DEADLINE_MS = 10_000;

/**
 * Unlink every shared sign-in, then delete; the organization refuses the delete (LINKS_REMAIN) while
 * a link made after the unlink remains, and the unlink is done again: never deleted with a link left,
 * which an authorization would keep listing. A link changed under the unlink (LINK_CHANGED) is the same race.
 */
async function deleteUnlinked(ctx: ApiContext, tenant: string, cif: string, handle: WorkflowHandle): Promise<void> {
  for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++) {
    try {
      await unlinkAllOf(ctx, tenant, cif);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'LINK_CHANGED') continue;
      throw err;
    }
    if (await deleteIfUnlinked(ctx, handle, cif)) return;
  }
  throw new ApiError(
    409,
    'ORGANIZATION_CHANGED',
    `Organization ${cif} was linked to an authorization again each of ${DELETE_ATTEMPTS} times it was unlinked; it is not deleted, send the DELETE again`,
    { cif },
  );
}

/** What to do after the delete update failed: unlink again, send the old signal, send the update again, or answer. */
export type DeleteUpdateFailure =
  { next: 'unlink-again' } | { next: 'signal' } | { next: 'resend'; afterMs: number } | { next: 'answer'; error: unknown };

/**
 * The delete update's failure, sorted: LINKS_REMAIN (a link made since the unlink), an update the
 * workflow lacks (older workers), an update the server dropped unprocessed (sent again
 * until UPDATE_SENDS). Any other update failure is 503 ORGANIZATION_DELETE_NOT_CONFIRMED: the handler cannot fail, so
 * it is the server's or a worker's trouble, and whether the organization ended is not known here (a
 * GET tells; a DELETE sent again deletes it or answers 404). Not an update failure: as it was thrown.
 */
export function afterDeleteUpdateFailed(err: unknown, cif: string, sent: number): DeleteUpdateFailure {
  if (err instanceof WorkflowNotFoundError) return { next: 'answer', error: organizationNotFound(cif) };
  if (!(err instanceof WorkflowUpdateFailedError)) return { next: 'answer', error: err };
  if (err.cause instanceof ApplicationFailure && err.cause.type === LINKS_REMAIN) return { next: 'unlink-again' };
  if (isUnknownUpdate(err, deleteOrganizationUpdate.name)) return { next: 'signal' };
  if (updateDroppedUnprocessed(err) && sent < UPDATE_SENDS) return { next: 'resend', afterMs: resendDelayMs(sent) };
  const error = new ApiError(
    503,
    'ORGANIZATION_DELETE_NOT_CONFIRMED',
    `The delete of organization ${cif} was not confirmed by its workflow; GET it to see whether it is gone, or send the DELETE again`,
    { cif },
    { cause: err },
  );
  return { next: 'answer', error };
}

/** True once deleted; false when the organization refused because a link remains. */
async function deleteIfUnlinked(ctx: ApiContext, handle: WorkflowHandle, cif: string): Promise<boolean> {
  for (let sent = 1; ; sent++) {
    try {
      await ctx.client.withDeadline(Date.now() + DELETE_DEADLINE_MS, () => handle.executeUpdate(deleteOrganizationUpdate));
      return true;
    } catch (err) {
      const failure = afterDeleteUpdateFailed(err, cif, sent);
      if (failure.next === 'unlink-again') return false;
      if (failure.next === 'answer') throw failure.error;
      if (failure.next === 'signal') break;
      await new Promise((resolve) => setTimeout(resolve, failure.afterMs));
    }
  }
  // A mixed deploy: this API is newer than the worker that runs the organization, whose workflow code
  // has no delete update yet. The signal those workers know is sent instead: it cannot refuse a link
  // made since the unlink above (the race the update closes), but refusing every DELETE until all
  // workers are upgraded would be worse. Once they are, the update is used again.
  await ctx.client.withDeadline(Date.now() + DELETE_DEADLINE_MS, () => handle.signal(deleteOrganizationSignal));
  return true;
}

export function mountOrganizationRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['Organizations']);
  route(
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/organizations',
      summary: 'Register an organization (a company, by CIF)',
      request: { body: CreateOrganization },
      responses: { 201: { description: 'Registered', content: { 'application/json': { schema: OrganizationSchema } } } },
      errors: [409, 503],
    },
    async ({ body }, _req, res) => {
      const tenant = tenantOf(res);
      const record: OrganizationRecord = { tenant, cif: body.cif, name: body.name, createdAt: new Date().toISOString() };
      try {
        await ctx.client.workflow.start('organization', {
          workflowId: organizationWorkflowId(tenant, body.cif),
          taskQueue: ctx.config.temporal.taskQueue,
          args: [record],
          workflowIdConflictPolicy: 'FAIL',
          // A deleted organization may be registered again.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: [
            { key: AnafTenant, value: tenant },
            { key: AnafService, value: 'organization' },
            { key: AnafCif, value: body.cif },
          ],
          memo: { name: body.name, createdAt: record.createdAt },
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new ApiError(409, 'ORGANIZATION_EXISTS', `Organization ${body.cif} is already registered`);
        }
        throw err;
      }
      res
        .status(201)
        .location(`${ctx.config.api.publicUrl}/v1/organizations/${body.cif}`)
        .json(view(ctx, record, {}));
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: '/v1/organizations',
      summary: "List the tenant's organizations",
      responses: {
        200: {
          description: 'Organizations',
          content: { 'application/json': { schema: z.object({ items: z.array(OrganizationSchema) }) } },
        },
      },
      errors: [503],
    },
    async (_input, _req, res) => {
      const tenant = tenantOf(res);
      const query = `AnafTenant = ${visibilityString(tenant)} AND AnafService = 'organization' AND ExecutionStatus = 'Running'`;
      const items: Array<z.infer<typeof OrganizationSchema>> = [];
      for await (const wf of ctx.client.workflow.list({ query })) {
        const cif = wf.typedSearchAttributes.get(AnafCif);
        const memo = (wf.memo ?? {}) as { name?: string; createdAt?: string };
        if (cif)
          items.push(
            view(
              ctx,
              { cif, name: memo.name ?? '', createdAt: memo.createdAt ?? wf.startTime.toISOString() },
              readEnvironmentOverrides(wf.memo ?? {}),
            ),
          );
        if (items.length >= 1000) break;
      }
      items.sort((a, b) => a.cif.localeCompare(b.cif));
      res.json({ items });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: '/v1/organizations/{cif}',
      summary: 'One organization',
      request: { params: OrganizationParams },
      responses: { 200: { description: 'The organization', content: { 'application/json': { schema: OrganizationSchema } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const organization = await getOrganization(ctx, tenantOf(res), params.cif);
      res.json(view(ctx, organization, organization.environments));
    },
  );

  route(
    {
      method: 'patch',
      permission: 'submit',
      path: '/v1/organizations/{cif}',
      summary: "Set the organization's ANAF environment (test or prod) per scope",
      description:
        "Each scope (EFACTURA, ETRANSPORT) may use ANAF's test or production API (`/test` or `/prod`) instead of the global ANAF_ENV; " +
        'null returns it to the default. The same tokens serve both. Applies to calls made after it; a submission or declaration already ' +
        'started stays where it was sent. validare and transformare always go to /prod. Unknown scope: 422 UNKNOWN_SCOPE; other value: 422 ENVIRONMENT_INVALID; ' +
        'test or prod while ANAF_API_BASE_URL ends in neither /test nor /prod (a proxy): 422 ENVIRONMENT_UNSUPPORTED.',
      request: { params: OrganizationParams, body: EnvironmentChangesSchema },
      responses: {
        200: { description: 'The organization with its environments', content: { 'application/json': { schema: OrganizationSchema } } },
      },
      errors: [404, 422, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const changes = environmentChanges(body.environments, ctx.config.anaf.apiBaseUrl);
      const organization = await getOrganization(ctx, tenant, params.cif);
      let overrides: EnvironmentOverrides;
      try {
        overrides = await ctx.client.workflow
          .getHandle(organizationWorkflowId(tenant, params.cif))
          .executeUpdate(setEnvironmentsUpdate, { args: [changes] });
      } catch (err) {
        // Deleted between the read and the update (the validator refuses), or gone: as a GET would answer.
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) throw organizationNotFound(params.cif);
        throw err;
      }
      res.json(view(ctx, organization, overrides));
    },
  );

  route(
    {
      method: 'delete',
      permission: 'submit',
      path: '/v1/organizations/{cif}',
      summary: 'Remove an organization (revoke its own authorizations first; its links to shared sign-ins are removed with it)',
      description:
        'Its links to shared sign-ins are removed first (each sign-in forgets the company and stays for the others), then the organization ' +
        'is deleted, which the organization refuses while any link remains: a link made meanwhile (a PUT of its authorization landing ' +
        'during the DELETE) is removed and the delete asked again, up to 3 times. 409 ORGANIZATION_HAS_AUTHORIZATIONS: revoke its own ' +
        'per-organization authorizations first. 409 ORGANIZATION_CHANGED: it was linked again each time; nothing deleted (its links ' +
        'may be gone), send the DELETE again. 503 ORGANIZATION_DELETE_NOT_CONFIRMED: the workflow did not confirm the delete; GET ' +
        'the organization to see whether it is gone, or send the DELETE again.',
      request: { params: OrganizationParams },
      responses: { 204: { description: 'Removed' } },
      errors: [404, 409, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      const live = (await listAuthorizations(ctx, tenant, params.cif)).filter((a) => a.status !== 'REVOKED');
      if (live.length > 0) {
        throw new ApiError(
          409,
          'ORGANIZATION_HAS_AUTHORIZATIONS',
          `Revoke the organization's authorizations first (${live.map((a) => a.scope).join(', ')})`,
        );
      }
      const handle = ctx.client.workflow.getHandle(organizationWorkflowId(tenant, params.cif));
      await deleteUnlinked(ctx, tenant, params.cif, handle);
      // Answer once it is gone, so a GET right after sees 404.
      await ctx.client.withDeadline(Date.now() + DELETE_DEADLINE_MS, () => handle.result());
      res.status(204).end();
    },
  );
}
