import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import type { Router } from 'express';
import { OAUTH_SCOPES } from '../lib/config/config';
import { newRequestId, newRequestLinks } from './oauth-requests';
import { sealTokens } from '../lib/crypto/sealed-tokens';
import { TokenSealBox } from '../lib/crypto/token-seal';
import type { oauthAuthorization, oauthAuthorizationRequest, oauthTest } from '../workflows';
import { installUpdate, refreshUpdate, requestStatusQuery, revokeUpdate } from '../workflows/oauth/definitions';
import {
  type AuthorizationRequestInit,
  type AuthorizationRequestView,
  type AuthorizationView,
  authorizationRequestWorkflowId,
  authorizationWorkflowId,
} from '../workflows/oauth/types';
import { AnafCif, AnafService, AnafTenant } from '../lib/temporal/search-attributes';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { routeDefiner } from './define-route';
import { liveCredentialSet } from './oauth-credential-choice';
import { ApiError } from './errors';
import { authorizationHandle, getAuthorization, listAuthorizations, publicAuthorization, updateFailure } from './oauth-authorizations';
import { linkedAuthorizationsOf, unlinkOrganization } from './authorization-routes';
import { getOrganization, OrganizationParams, TaxpayerCodeSchema } from './organization-routes';
import { visibilityString } from './workflow-access';
import { checkCallbackUrl } from './xml-body';
import { z } from './zod';

const ScopeSchema = z.enum(OAUTH_SCOPES).openapi({ description: 'ANAF service the authorization is for' });
const ScopeParams = z.object({ cif: TaxpayerCodeSchema, scope: ScopeSchema });
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Where a browser is sent back to: https, or http on this machine (development); never javascript:, data:, file: or the like. */
export function isHttpsOrLocalUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
}
export const HttpsOrLocalUrl = z
  .string()
  .max(2000)
  .refine(isHttpsOrLocalUrl, 'must be an https URL (http only on localhost), without credentials')
  .openapi({ format: 'uri' });

const CreateAuthorizationRequest = z
  .object({
    scope: ScopeSchema,
    oauthCallback: HttpsOrLocalUrl.optional().openapi({ description: 'Use the credential set registered with this callback URL' }),
    onSuccessReturnUrl: HttpsOrLocalUrl.optional(),
    onFailureReturnUrl: HttpsOrLocalUrl.optional(),
    webhookUrl: z.string().max(2000).optional().openapi({
      format: 'uri',
      description:
        "Where the authorization's events are pushed, signed (authorization.active, needs_reauthorization, refresh_lapsing, revoked, cif_refused)",
    }),
  })
  .openapi('CreateAuthorizationRequest');

const AuthorizationRequestSchema = z
  .object({
    id: z.string(),
    url: z.string().url(),
    shortUrl: z.string().url(),
    expiresAt: z.string().datetime(),
  })
  .openapi('AuthorizationRequest');

const AuthorizationRequestStatusSchema = z
  .object({
    id: z.string(),
    cif: z.string(),
    scope: ScopeSchema,
    status: z.enum(['WAITING', 'COMPLETED', 'DENIED', 'FAILED', 'EXPIRED']),
    createdAt: z.string(),
    expiresAt: z.string(),
    completedAt: z.string().optional(),
    error: z.string().optional(),
  })
  .openapi('AuthorizationRequestStatus');

const AuthorizationSchema = z
  .object({
    scope: ScopeSchema,
    status: z.enum(['PENDING', 'ACTIVE', 'REFRESHING', 'NEEDS_REAUTHORIZATION', 'REVOKED', 'REVOCATION_UNCONFIRMED', 'EXPIRED']),
    clientId: z.string(),
    credentialSetId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    accessTokenExpiresAt: z.string().nullable(),
    refreshTokenExpiresAt: z.string().nullable(),
    lastRefreshAt: z.string().nullable(),
    nextRefreshAt: z.string().nullable(),
    lastError: z.string().nullable(),
    refreshCount: z.number().int(),
    refreshTokenExpiringSoon: z.boolean(),
    revocation: z.object({ at: z.string(), outcome: z.string() }).nullable(),
    recentEvents: z.array(z.object({ at: z.string(), event: z.string(), detail: z.string().optional() })),
  })
  .openapi('Authorization');

const OrganizationAuthorizationSchema = AuthorizationSchema.extend({ authorizationId: z.string(), linked: z.boolean() }).openapi(
  'OrganizationAuthorization',
);

const ImportTokens = z
  .object({
    refreshToken: z.string().min(10).max(10_000),
    accessToken: z.string().min(10).max(10_000).optional(),
    oauthCallback: HttpsOrLocalUrl.optional().openapi({ description: 'The credential set the tokens were issued to' }),
  })
  .openapi('ImportTokens');

const TestResult = z.object({ status: z.number().int(), body: z.string() }).openapi('AuthorizationTestResult');

/** Env sets and those added through the API (api/oauth-client-routes.ts), never a retired one. */
export function credentialSetOr400(ctx: ApiContext, scope: (typeof OAUTH_SCOPES)[number], oauthCallback?: string) {
  return liveCredentialSet(ctx, scope, oauthCallback);
}

/** The request workflow; AnafCif only for a per-organization one (a sign-in for many companies has none). */
export async function startAuthorizationRequest(ctx: ApiContext, init: AuthorizationRequestInit): Promise<void> {
  await ctx.client.workflow.start<typeof oauthAuthorizationRequest>('oauthAuthorizationRequest', {
    workflowId: authorizationRequestWorkflowId(init.tenant, init.requestId),
    taskQueue: ctx.config.temporal.taskQueue,
    args: [init],
    typedSearchAttributes: [
      { key: AnafTenant, value: init.tenant },
      { key: AnafService, value: 'oauth-request' },
      ...(init.cif ? [{ key: AnafCif, value: init.cif }] : []),
    ],
  });
}

export function lifecycleSettings(ctx: ApiContext) {
  return {
    refreshLeadMs: ctx.config.oauth.refreshLeadMs,
    warnBeforeRefreshExpiryMs: ctx.config.oauth.warnBeforeRefreshExpiryMs,
    ...(ctx.config.oauth.lapsingWarnDays ? { lapsingWarnDays: ctx.config.oauth.lapsingWarnDays } : {}),
  };
}

export function mountOAuthRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['OAuth']);
  const sealer = new TokenSealBox(ctx.config.tokenSealing.publicKeys);
  const org = '/v1/organizations/{cif}';

  route(
    {
      method: 'post',
      permission: 'submit',
      path: `${org}/authorization-requests`,
      summary: 'Start an authorization: returns the URL the company representative opens',
      description:
        'The representative opens `shortUrl` (or `url`), signs in at ANAF with the qualified certificate and is sent back to our callback; the tokens then live in the authorization lifecycle.',
      request: { params: OrganizationParams, body: CreateAuthorizationRequest },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: AuthorizationRequestSchema } } } },
      errors: [404, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      checkCallbackUrl(ctx, body.webhookUrl);
      const set = await credentialSetOr400(ctx, body.scope, body.oauthCallback);
      const requestId = newRequestId();
      const links = newRequestLinks(ctx.config.anaf.oauthBaseUrl, set, tenant, requestId);
      const now = Date.now();
      const init: AuthorizationRequestInit = {
        tenant,
        requestId,
        cif: params.cif,
        scope: body.scope,
        credentialSetId: set.id,
        clientId: set.clientId,
        ...links.init,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + ctx.config.oauth.requestTtlMs).toISOString(),
        ...(body.onSuccessReturnUrl ? { onSuccessReturnUrl: body.onSuccessReturnUrl } : {}),
        ...(body.onFailureReturnUrl ? { onFailureReturnUrl: body.onFailureReturnUrl } : {}),
        ...(body.webhookUrl ? { webhookUrl: body.webhookUrl } : {}),
        settings: lifecycleSettings(ctx),
      };
      await startAuthorizationRequest(ctx, init);
      // The links go to the creator once (the person must reach ANAF with the state); no answer repeats them.
      res.status(201).json({ id: requestId, url: links.url, shortUrl: links.shortUrl, expiresAt: init.expiresAt });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: `${org}/authorization-requests`,
      summary: "The organization's authorization requests, newest first",
      request: { params: OrganizationParams },
      responses: {
        200: {
          description: 'Requests',
          content: { 'application/json': { schema: z.object({ items: z.array(AuthorizationRequestStatusSchema) }) } },
        },
      },
      errors: [503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      const query = `AnafTenant = ${visibilityString(tenant)} AND AnafService = 'oauth-request' AND AnafCif = ${visibilityString(params.cif)}`;
      const items: Array<Omit<AuthorizationRequestView, 'url' | 'shortUrl'>> = [];
      for await (const wf of ctx.client.workflow.list({ query, pageSize: 50 })) {
        try {
          // Without the sign-in links: a legacy request's carry its state.
          const { url: _url, shortUrl: _short, ...listed } = await ctx.client.workflow.getHandle(wf.workflowId).query(requestStatusQuery);
          items.push(listed);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (items.length >= 50) break;
      }
      items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      res.json({ items });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: `${org}/authorizations`,
      summary: "The organization's authorizations: its own (one per scope) and the sign-ins it is linked to; never the tokens",
      description:
        'Items with `linked: true` are the authorizations linked to it (PUT …/authorizations/{scope}): they serve the scope. ' +
        'Its own (`linked: false`, a per-organization sign-in) serves a scope only while no link does.',
      request: { params: OrganizationParams },
      responses: {
        200: {
          description: 'Authorizations',
          content: { 'application/json': { schema: z.object({ items: z.array(OrganizationAuthorizationSchema) }) } },
        },
      },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      const own = (await listAuthorizations(ctx, tenant, params.cif)).map((v) => ({
        ...publicAuthorization(v),
        authorizationId: publicAuthorization(v).id,
        linked: false,
      }));
      res.json({ items: [...own, ...(await linkedAuthorizationsOf(ctx, tenant, params.cif))] });
    },
  );

  route(
    {
      method: 'post',
      permission: 'submit',
      path: `${org}/authorizations/{scope}/refresh`,
      summary: 'Refresh the tokens now',
      request: { params: ScopeParams },
      responses: { 200: { description: 'Refreshed', content: { 'application/json': { schema: AuthorizationSchema } } } },
      errors: [404, 409, 502, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      try {
        await authorizationHandle(ctx, tenant, params.cif, params.scope).executeUpdate(refreshUpdate, { args: [{ reason: 'FORCED' }] });
      } catch (err) {
        throw updateFailure(err, params.cif, params.scope);
      }
      res.json(publicAuthorization(await getAuthorization(ctx, tenant, params.cif, params.scope)));
    },
  );

  route(
    {
      method: 'post',
      permission: 'submit',
      path: `${org}/authorizations/{scope}/test`,
      summary: "Call ANAF's TestOauth hello with the current token; returns ANAF's answer",
      request: { params: ScopeParams },
      responses: { 200: { description: "ANAF's answer", content: { 'application/json': { schema: TestResult } } } },
      errors: [404, 409, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      const view = await getAuthorization(ctx, tenant, params.cif, params.scope);
      if (view.status === 'REVOKED' || view.status === 'REVOCATION_UNCONFIRMED' || view.status === 'NEEDS_REAUTHORIZATION') {
        throw new ApiError(409, 'AUTHORIZATION_NOT_USABLE', `The ${params.scope} authorization is ${view.status}`);
      }
      const result = await ctx.client.workflow.execute<typeof oauthTest>('oauthTest', {
        workflowId: `${tenant}/oauth-test/${params.cif}-${params.scope}-${randomUUID()}`,
        taskQueue: ctx.config.temporal.taskQueue,
        args: [{ key: { tenant, cif: params.cif, scope: params.scope }, name: `anaf-flow ${params.cif}` }],
        workflowExecutionTimeout: '2 minutes',
      });
      res.json(result);
    },
  );

  route(
    {
      method: 'delete',
      permission: 'submit',
      path: `${org}/authorizations/{scope}`,
      summary: 'Revoke at ANAF and destroy the tokens here (or, for an organization linked to a shared sign-in, unlink it)',
      description:
        'An organization linked to an authorization (PUT …/authorizations/{scope}) is only unlinked: the sign-in stays for the other companies, and the answer is that authorization with `unlinked: true` ' +
        '(409 LINK_CHANGED if another link of the scope landed meanwhile: that one stays). ' +
        'Revoked only once ANAF confirms it. Otherwise (its gateway redirected or answered a page, an error, no answer) 502 ' +
        'REVOCATION_UNCONFIRMED: the tokens are no longer used but kept sealed so that calling this again can still revoke them.',
      request: { params: ScopeParams },
      responses: { 200: { description: 'Revoked', content: { 'application/json': { schema: AuthorizationSchema } } } },
      errors: [404, 409, 502, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      // Linked to a sign-in other companies may share: unlink only, never revoke it for all of them.
      const unlinked = await unlinkOrganization(ctx, tenant, params.cif, params.scope);
      if (unlinked) return void res.json({ ...unlinked, unlinked: true });
      let view: AuthorizationView;
      try {
        view = await authorizationHandle(ctx, tenant, params.cif, params.scope).executeUpdate(revokeUpdate);
      } catch (err) {
        throw updateFailure(err, params.cif, params.scope);
      }
      if (view.status === 'REVOCATION_UNCONFIRMED') {
        throw new ApiError(
          502,
          'REVOCATION_UNCONFIRMED',
          `ANAF did not confirm the revocation (${view.revocation?.outcome ?? 'no answer'}); the tokens are no longer used, call again to revoke them`,
          { authorization: publicAuthorization(view) },
        );
      }
      res.json(publicAuthorization(view));
    },
  );

  route(
    {
      method: 'post',
      permission: 'submit',
      path: `${org}/authorizations/{scope}/import`,
      summary: 'Adopt tokens obtained elsewhere; they are proven by an immediate refresh',
      request: { params: ScopeParams, body: ImportTokens },
      responses: { 200: { description: 'Imported and proven', content: { 'application/json': { schema: AuthorizationSchema } } } },
      errors: [404, 409, 422, 502, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      const set = await credentialSetOr400(ctx, params.scope, body.oauthCallback);
      const tokens = sealTokens(sealer, {
        refreshToken: body.refreshToken,
        ...(body.accessToken ? { accessToken: body.accessToken } : {}),
      });
      const key = { tenant, cif: params.cif, scope: params.scope };
      const startOp = new WithStartWorkflowOperation<typeof oauthAuthorization>('oauthAuthorization', {
        workflowId: authorizationWorkflowId(key),
        taskQueue: ctx.config.temporal.taskQueue,
        args: [{ init: { ...key, credentialSetId: set.id, clientId: set.clientId, settings: lifecycleSettings(ctx) } }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      await ctx.client.workflow.executeUpdateWithStart(installUpdate, {
        args: [{ tokens, source: 'IMPORT', credentialSetId: set.id, clientId: set.clientId }],
        startWorkflowOperation: startOp,
      });
      // The lifecycle refreshes imported tokens at once; joining that refresh tells the caller whether they work.
      try {
        await authorizationHandle(ctx, tenant, params.cif, params.scope).executeUpdate(refreshUpdate, {
          args: [{ staleTokenId: tokens.tokenId, reason: 'FORCED' }],
        });
      } catch (err) {
        const mapped = updateFailure(err, params.cif, params.scope);
        if (mapped instanceof ApiError && mapped.status === 409) {
          throw new ApiError(422, 'IMPORTED_TOKENS_REJECTED', `ANAF refused the imported refresh token: ${mapped.message}`);
        }
        throw mapped;
      }
      res.json(publicAuthorization(await getAuthorization(ctx, tenant, params.cif, params.scope)));
    },
  );
}
