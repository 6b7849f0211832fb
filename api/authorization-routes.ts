import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Router } from 'express';
import { OAUTH_SCOPES, type OAuthScope } from '../lib/config/config';
import { forgetCompanyUpdate, linkCompanyUpdate, refreshUpdate, revokeUpdate, statusQuery } from '../workflows/oauth/definitions';
import { authorizationLinksOf, servingAuthorization } from '../services/clients/authorization-links';
import { type AuthorizationView, workflowIdOfAuthorization } from '../workflows/oauth/types';
import { LINK_CHANGED, organizationWorkflowId, unlinkAuthorizationUpdate } from '../workflows/organization';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute, jsonResponse } from './define-route';
import { ApiError } from './errors';
import { publicAuthorization, updateFailure } from './oauth-authorizations';
import { getOrganization, TaxpayerCodeSchema } from './organizations';
import { visibilityString } from './workflow-access';
import { z } from './zod';

/**
 * Authorizations as ANAF issues them (issue 16): one sign-in, one token pair, many companies.
 * `GET/DELETE /v1/authorizations/{id}`, its refresh, and the link of an organization to one
 * (`PUT /v1/organizations/{cif}/authorizations/{scope}`). Ids carry no tenant; the workflow id
 * does, so another tenant's id simply is not found.
 */

const ScopeSchema = z.enum(OAUTH_SCOPES);
const AuthorizationIdSchema = z.string().min(3).max(64).openapi({ example: 'az_4kTq9ZsP2mWb7RcXyL1n' });
const CompanySchema = z.object({ cif: z.string(), scope: ScopeSchema, linkedAt: z.string() });

export const AuthorizationDetailSchema = z
  .object({
    id: z.string(),
    label: z.string().nullable(),
    scopes: z.array(ScopeSchema),
    companies: z.array(CompanySchema),
    status: z.enum(['PENDING', 'ACTIVE', 'REFRESHING', 'NEEDS_REAUTHORIZATION', 'REVOKED', 'REVOCATION_UNCONFIRMED', 'EXPIRED']),
    credentialSetId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    accessTokenExpiresAt: z.string().nullable(),
    refreshTokenExpiresAt: z.string().nullable(),
    refreshTokenExpiringSoon: z.boolean(),
    refreshCount: z.number().int(),
    lastError: z.string().nullable(),
    recentEvents: z.array(z.object({ at: z.string(), event: z.string(), detail: z.string().optional() })),
    webhookUrl: z.string().nullable(),
  })
  .openapi('AuthorizationOfSignIn');

const IdParams = z.object({ id: AuthorizationIdSchema });
const LinkParams = z.object({ cif: TaxpayerCodeSchema, scope: ScopeSchema });
const LinkBody = z.object({ authorizationId: AuthorizationIdSchema }).openapi('LinkAuthorization');
const LinkResult = z
  .object({ cif: z.string(), scope: ScopeSchema, authorizationId: z.string(), previousAuthorizationId: z.string().nullable() })
  .openapi('AuthorizationLink');
const ListQuery = z.object({ status: z.string().max(40).optional(), cif: TaxpayerCodeSchema.optional() });

type Detail = z.infer<typeof AuthorizationDetailSchema>;

const notFound = (id: string) => new ApiError(404, 'AUTHORIZATION_NOT_FOUND', `No authorization ${id}`);

/** The tenant's authorization workflow for an id, or 404 (an id of another form, or of another tenant, is not found). */
export function authorizationWorkflowFor(tenant: string, id: string): string {
  const workflowId = workflowIdOfAuthorization(tenant, id);
  if (!workflowId) throw notFound(id);
  return workflowId;
}

export async function authorizationView(ctx: ApiContext, tenant: string, id: string): Promise<AuthorizationView> {
  try {
    return await ctx.client.workflow.getHandle(authorizationWorkflowFor(tenant, id)).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(id);
    throw err;
  }
}

export function detail(view: AuthorizationView): Detail {
  const p = publicAuthorization(view);
  return {
    id: p.id,
    label: p.label,
    scopes: p.scopes,
    companies: p.companies,
    status: p.status,
    credentialSetId: p.credentialSetId,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    accessTokenExpiresAt: p.accessTokenExpiresAt,
    refreshTokenExpiresAt: p.refreshTokenExpiresAt,
    refreshTokenExpiringSoon: p.refreshTokenExpiringSoon,
    refreshCount: p.refreshCount,
    lastError: p.lastError,
    recentEvents: p.recentEvents,
    webhookUrl: view.webhookUrl ?? null,
  };
}

/** Another link or unlink of the same organization and scope landed while this one was under way. */
const linkChanged = (message: string, cif: string, scope: OAuthScope) =>
  new ApiError(409, 'LINK_CHANGED', `The ${scope} link of ${cif} changed while this request ran (${message}); read it again and retry`, {
    cif,
    scope,
  });

/** The link update refused or failed, as the API's typed errors. */
function linkFailure(err: unknown, id: string, cif: string, scope: OAuthScope): unknown {
  if (err instanceof WorkflowNotFoundError) return notFound(id);
  if (!(err instanceof WorkflowUpdateFailedError)) return err;
  const cause = err.cause as { type?: string; message?: string; cause?: { type?: string; message?: string } } | undefined;
  const type = cause?.type ?? cause?.cause?.type;
  const message = cause?.message ?? err.message;
  if (type === 'ScopeNotAuthorized')
    return new ApiError(409, 'SCOPE_NOT_AUTHORIZED', `Authorization ${id} does not include ${scope}: ${message}`);
  if (type === 'CifNotCovered') return new ApiError(422, 'CIF_NOT_COVERED', message, { cif, scope, authorizationId: id });
  if (type === 'AnafCheckInconclusive') return new ApiError(502, 'ANAF_CHECK_INCONCLUSIVE', message, { cif, scope, authorizationId: id });
  if (type === 'OrganizationNotFound') return new ApiError(404, 'ORGANIZATION_NOT_FOUND', `No organization with CIF ${cif}`);
  if (type === LINK_CHANGED) return linkChanged(message, cif, scope);
  return updateFailure(err, cif, scope);
}

/** PUT and DELETE of an organization's link. */
function mountLinkRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'put',
      permission: 'submit',
      path: '/v1/organizations/{cif}/authorizations/{scope}',
      summary: "Link the organization to an existing authorization (a sign-in that has rights for it in ANAF's SPV)",
      description:
        "One cheap ANAF call with the authorization's token for this CIF first: ANAF's refusal is 422 CIF_NOT_COVERED and nothing is linked; " +
        'an answer that is neither a listing nor that refusal is 502 ANAF_CHECK_INCONCLUSIVE (nothing linked, try again). ' +
        'Idempotent. From then on every ANAF call of the organization for this scope uses that authorization. ' +
        'Another PUT (or DELETE) of the same link that lands while ANAF is asked wins: this one is then 409 LINK_CHANGED and links nothing.',
      tags: ['OAuth'],
      request: { params: LinkParams, body: LinkBody },
      responses: { 200: jsonResponse('Linked', LinkResult) },
      errors: [404, 409, 422, 502, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      // What serves it now: the link is made only if that is still so after ANAF's check (a concurrent PUT wins otherwise).
      const expectedAuthorizationId = (await authorizationLinksOf(ctx.client, tenant, params.cif))[params.scope] ?? null;
      const handle = ctx.client.workflow.getHandle(authorizationWorkflowFor(tenant, body.authorizationId));
      let linked;
      try {
        linked = await handle.executeUpdate(linkCompanyUpdate, {
          args: [{ cif: params.cif, scope: params.scope, expectedAuthorizationId }],
        });
      } catch (err) {
        throw linkFailure(err, body.authorizationId, params.cif, params.scope);
      }
      res.json({
        cif: params.cif,
        scope: params.scope,
        authorizationId: body.authorizationId,
        previousAuthorizationId: linked.previousAuthorizationId ?? null,
      });
    },
  );
}

/**
 * DELETE /v1/organizations/{cif}/authorizations/{scope} on a linked organization: the link goes,
 * the sign-in stays (other companies may use it). Returns undefined when the organization has no
 * link for the scope (then the legacy revoke applies).
 */
export async function unlinkOrganization(ctx: ApiContext, tenant: string, cif: string, scope: OAuthScope): Promise<Detail | undefined> {
  const serving = await servingAuthorization(ctx.client, { tenant, cif, scope });
  if (!serving.linked) return undefined;
  const { workflowId, authorizationId } = serving;
  try {
    // Only the link read above: one made since (another authorization) stays, and that one keeps the company.
    await ctx.client.workflow
      .getHandle(organizationWorkflowId(tenant, cif))
      .executeUpdate(unlinkAuthorizationUpdate, { args: [{ scope, authorizationId }] });
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? (err.cause as { type?: string; message?: string } | undefined) : undefined;
    if (cause?.type === LINK_CHANGED) throw linkChanged(cause.message ?? 'linked to another', cif, scope);
    throw err;
  }
  try {
    return detail(await ctx.client.workflow.getHandle(workflowId).executeUpdate(forgetCompanyUpdate, { args: [{ cif, scope }] }));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The authorizations an organization is linked to, one per linked scope (GET
 * /v1/organizations/{cif}/authorizations lists them beside the legacy ones): `linked: true`, and
 * the fields of the authorization itself (status, expiries), its `scope` being the link's.
 */
export async function linkedAuthorizationsOf(ctx: ApiContext, tenant: string, cif: string) {
  const links = await authorizationLinksOf(ctx.client, tenant, cif);
  const found = await Promise.all(
    OAUTH_SCOPES.map(async (scope) => {
      const id = links[scope];
      if (!id) return undefined;
      const view = await authorizationView(ctx, tenant, id).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'AUTHORIZATION_NOT_FOUND') return undefined;
        throw err;
      });
      return view && { ...publicAuthorization(view), scope, authorizationId: id, linked: true };
    }),
  );
  return found.filter((a) => a !== undefined);
}

/**
 * DELETE /v1/organizations/{cif}: its links go first, each authorization forgetting the company
 * (the sign-in stays for its other companies). 409 LINK_CHANGED if one changed meanwhile.
 */
export async function unlinkAllOf(ctx: ApiContext, tenant: string, cif: string): Promise<void> {
  const links = await authorizationLinksOf(ctx.client, tenant, cif);
  for (const scope of OAUTH_SCOPES) if (links[scope]) await unlinkOrganization(ctx, tenant, cif, scope);
}

/** The tenant's authorizations (running workflows of both kinds), newest first. */
async function listAuthorizationsOfTenant(ctx: ApiContext, tenant: string, filter: z.infer<typeof ListQuery>): Promise<Detail[]> {
  const query = `AnafTenant = ${visibilityString(tenant)} AND AnafService = 'oauth' AND ExecutionStatus = 'Running'${
    filter.status ? ` AND AnafStage = ${visibilityString(filter.status)}` : ''
  }`;
  const items: Detail[] = [];
  for await (const wf of ctx.client.workflow.list({ query, pageSize: 100 })) {
    if (wf.type !== 'oauthAuthorization') continue;
    try {
      items.push(detail(await ctx.client.workflow.getHandle(wf.workflowId).query(statusQuery)));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (items.length >= 500) break;
  }
  const wanted = filter.cif ? items.filter((a) => a.companies.some((c) => c.cif === filter.cif)) : items;
  return wanted.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export function mountAuthorizationRoutes(router: Router, ctx: ApiContext): void {
  mountLinkRoutes(router, ctx);

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/authorizations',
      summary: "The tenant's authorizations (sign-ins): companies, scopes, state and expiries; never the tokens",
      tags: ['OAuth'],
      request: { query: ListQuery },
      responses: { 200: jsonResponse('Authorizations', z.object({ items: z.array(AuthorizationDetailSchema) })) },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      res.json({ items: await listAuthorizationsOfTenant(ctx, tenantOf(res), query) });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/authorizations/{id}',
      summary: 'One authorization',
      tags: ['OAuth'],
      request: { params: IdParams },
      responses: { 200: jsonResponse('The authorization', AuthorizationDetailSchema) },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(detail(await authorizationView(ctx, tenantOf(res), params.id)));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/authorizations/{id}/refresh',
      summary: 'Refresh its tokens now',
      tags: ['OAuth'],
      request: { params: IdParams },
      responses: { 200: jsonResponse('Refreshed', AuthorizationDetailSchema) },
      errors: [404, 409, 502, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      try {
        await ctx.client.workflow
          .getHandle(authorizationWorkflowFor(tenant, params.id))
          .executeUpdate(refreshUpdate, { args: [{ reason: 'FORCED' }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound(params.id);
        throw updateFailure(err, params.id, 'its scopes');
      }
      res.json(detail(await authorizationView(ctx, tenant, params.id)));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'delete',
      permission: 'submit',
      path: '/v1/authorizations/{id}',
      summary: 'Revoke the sign-in at ANAF; its companies stay linked but have no usable token until linked to another',
      description:
        'Every company linked to it then has no usable token for that scope (its ANAF calls fail NOT_AUTHORIZED) until it is linked to another authorization ' +
        '(PUT /v1/organizations/{cif}/authorizations/{scope}); `companiesWithoutToken` lists them. 502 REVOCATION_UNCONFIRMED as for the per-organization revoke.',
      tags: ['OAuth'],
      request: { params: IdParams },
      responses: { 200: jsonResponse('Revoked', AuthorizationDetailSchema.extend({ companiesWithoutToken: z.array(CompanySchema) })) },
      errors: [404, 502, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      let view: AuthorizationView;
      try {
        view = await ctx.client.workflow.getHandle(authorizationWorkflowFor(tenant, params.id)).executeUpdate(revokeUpdate);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound(params.id);
        throw updateFailure(err, params.id, 'its scopes');
      }
      const answer = { ...detail(view), companiesWithoutToken: detail(view).companies };
      if (view.status === 'REVOCATION_UNCONFIRMED') {
        throw new ApiError(
          502,
          'REVOCATION_UNCONFIRMED',
          `ANAF did not confirm the revocation (${view.revocation?.outcome ?? 'no answer'}); call again to revoke`,
          {
            authorization: answer,
          },
        );
      }
      res.json(answer);
    },
  );
}
