import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Router } from 'express';
import { OAUTH_SCOPES, type OAuthScope } from '../lib/config/config';
import { newRequestId, newRequestLinks, parseState } from './oauth-requests';
import { TokenSealBox } from '../lib/crypto/token-seal';
import { callbackUpdate, requestStatusQuery } from '../workflows/oauth/definitions';
import {
  type AuthorizationRequestInit,
  type AuthorizationRequestView,
  authorizationRequestWorkflowId,
  type CallbackResult,
  legacyAuthorizationId,
} from '../workflows/oauth/types';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute, jsonResponse } from './define-route';
import { ApiError } from './errors';
import { callbackInput } from './oauth-callback-routes';
import { credentialSetOr400, HttpsOrLocalUrl, lifecycleSettings, startAuthorizationRequest } from './oauth-routes';
import { getOrganization, TaxpayerCodeSchema } from './organization-routes';
import { visibilityString } from './workflow-access';
import { checkCallbackUrl } from './xml-body';
import { z } from './zod';

/**
 * Sign-ins not tied to one company (issue 16): `POST /v1/authorization-requests` (an accountant
 * signs in once for the companies they have rights for in SPV), their listing, and the ERP's own
 * callback (`…/{id}/finalize`, SBS's finalizeAuthorizationRequest) for an ERP that registered its
 * own redirect URI with ANAF.
 */

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** ANAF's authorization code lives 60 s (its OAuth procedure); one received earlier is not sent. */
const CODE_LIFETIME_MS = 60_000;

/** `az_` + 20 base62 characters (~119 bits): unguessable, and never a CIF (digits), so no clash with legacy ids. */
export function newAuthorizationId(): string {
  const bytes = randomBytes(40);
  let out = '';
  for (const b of bytes) {
    if (b >= 248) continue; // 248 = 4 × 62: no modulo bias
    out += BASE62[b % 62];
    if (out.length === 20) break;
  }
  return out.length === 20 ? `az_${out}` : newAuthorizationId();
}

const ScopeChoice = z
  .enum([...OAUTH_SCOPES, 'BOTH'])
  .openapi({ description: 'EFACTURA, ETRANSPORT, or BOTH (one sign-in, one token for both)' });

const CreateSignIn = z
  .object({
    scope: ScopeChoice.optional(),
    scopes: z.array(z.enum(OAUTH_SCOPES)).min(1).max(2).optional(),
    organizations: z
      .array(TaxpayerCodeSchema)
      .max(500)
      .optional()
      .openapi({ description: 'Registered organizations to link once signed in (each checked at ANAF)' }),
    label: z.string().trim().min(1).max(200).optional().openapi({ description: 'Who signs in, e.g. "Cabinet Popescu – Ana"' }),
    returnUrl: HttpsOrLocalUrl.optional().openapi({ description: 'Where the browser goes after our callback (outcome=… added)' }),
    oauthCallback: HttpsOrLocalUrl.optional().openapi({
      description: 'Use the credential set registered with this callback URL (an ERP with its own callback finalizes itself)',
    }),
    webhookUrl: z.string().max(2000).optional().openapi({
      format: 'uri',
      description:
        "Where the authorization's events are pushed, signed (authorization.active, needs_reauthorization, refresh_lapsing, revoked, cif_refused)",
    }),
  })
  .refine((b) => (b.scope === undefined) !== (b.scopes === undefined), { message: 'give exactly one of scope or scopes' })
  .openapi('CreateSignIn');

const SignInCreated = z
  .object({
    id: z.string(),
    authorizationId: z.string(),
    url: z.string().url(),
    shortUrl: z.string().url(),
    expiresAt: z.string().datetime(),
  })
  .openapi('SignInRequest');

const RequestView = z
  .object({
    id: z.string(),
    cif: z.string(),
    scope: z.enum(OAUTH_SCOPES),
    scopes: z.array(z.enum(OAUTH_SCOPES)).optional(),
    status: z.enum(['WAITING', 'COMPLETED', 'DENIED', 'FAILED', 'EXPIRED']),
    authorizationId: z.string().optional(),
    label: z.string().optional(),
    organizations: z.array(z.string()).optional(),
    createdAt: z.string(),
    expiresAt: z.string(),
    completedAt: z.string().optional(),
    error: z.string().optional(),
  })
  .openapi('AuthorizationRequestListed');

const ListQuery = z.object({
  scope: z.enum(OAUTH_SCOPES).optional(),
  status: z.enum(['WAITING', 'COMPLETED', 'DENIED', 'FAILED', 'EXPIRED']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const Finalize = z
  .object({
    state: z.string().max(200),
    code: z.string().min(1).max(4000).optional(),
    error: z.string().max(200).optional(),
    errorDescription: z.string().max(1000).optional(),
    receivedAt: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "When ANAF's redirect reached the ERP: a code older than 60 s is not sent to ANAF" }),
  })
  .refine((b) => Boolean(b.code) !== Boolean(b.error), { message: 'give either code or error' })
  .openapi('FinalizeAuthorizationRequest');

const Finalized = z
  .object({ id: z.string(), outcome: z.enum(['AUTHORIZED', 'DENIED']), message: z.string(), authorizationId: z.string().nullable() })
  .openapi('FinalizedAuthorizationRequest');

const scopesOfBody = (b: z.infer<typeof CreateSignIn>): OAuthScope[] =>
  b.scopes ? [...new Set(b.scopes)] : b.scope === 'BOTH' ? [...OAUTH_SCOPES] : [b.scope as OAuthScope];

/** The links a person opens: our short link when ANAF sends them back to us, ANAF's own page when it sends them to the ERP's callback. */
function linksFor(ctx: ApiContext, set: { clientId: string; redirectUri: string }, tenant: string, requestId: string) {
  const links = newRequestLinks(ctx.config.anaf.oauthBaseUrl, set, tenant, requestId);
  const ours = new URL(set.redirectUri).origin === new URL(ctx.config.api.publicUrl).origin;
  return { ...links, shortUrl: ours ? links.shortUrl : links.url };
}

const STATE_INVALID = () =>
  new ApiError(400, 'STATE_INVALID', 'This state is unknown, expired or already used; start a new authorization request');

/** Which finalize failures say "this state is not (any more) good": 400 STATE_INVALID, the request unchanged. */
function stateInvalid(err: unknown): ApiError | undefined {
  if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) return STATE_INVALID();
  if (err instanceof Error && /already completed|workflow execution.*(completed|closed)/i.test(err.message)) return STATE_INVALID();
  return undefined;
}

function mountCreateAndList(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/authorization-requests',
      summary: 'Start a sign-in not tied to one company: one ANAF token for every listed organization the person has rights for',
      tags: ['OAuth'],
      request: { body: CreateSignIn },
      responses: { 201: jsonResponse('Created', SignInCreated) },
      errors: [400, 404, 409, 503],
    },
    async ({ body }, _req, res) => {
      const tenant = tenantOf(res);
      checkCallbackUrl(ctx, body.webhookUrl);
      const organizations = [...new Set(body.organizations ?? [])];
      for (const cif of organizations) await getOrganization(ctx, tenant, cif);
      const scopes = scopesOfBody(body);
      const set = await credentialSetOr400(ctx, scopes[0]!, body.oauthCallback);
      const missing = scopes.filter((s) => !set.scopes.includes(s));
      if (missing.length)
        throw new ApiError(400, 'UNKNOWN_OAUTH_CALLBACK', `credential set ${set.id} does not serve ${missing.join(', ')}`);
      const requestId = newRequestId();
      const links = linksFor(ctx, set, tenant, requestId);
      const now = Date.now();
      const init: AuthorizationRequestInit = {
        tenant,
        requestId,
        cif: '',
        scope: scopes[0]!,
        credentialSetId: set.id,
        clientId: set.clientId,
        ...links.init,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + ctx.config.oauth.requestTtlMs).toISOString(),
        ...(body.returnUrl ? { onSuccessReturnUrl: body.returnUrl, onFailureReturnUrl: body.returnUrl } : {}),
        settings: lifecycleSettings(ctx),
        authorizationId: newAuthorizationId(),
        scopes,
        organizations,
        ...(body.label ? { label: body.label } : {}),
        ...(body.webhookUrl ? { webhookUrl: body.webhookUrl } : {}),
      };
      await startAuthorizationRequest(ctx, init);
      res.status(201).json({
        id: requestId,
        authorizationId: init.authorizationId,
        url: links.url,
        shortUrl: links.shortUrl,
        expiresAt: init.expiresAt,
      });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/authorization-requests',
      summary: "The tenant's authorization requests (sign-ins and per-organization ones), newest first; filter by scope and status",
      tags: ['OAuth'],
      request: { query: ListQuery },
      responses: { 200: jsonResponse('Requests', z.object({ items: z.array(RequestView) })) },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      const visibility = `AnafTenant = ${visibilityString(tenant)} AND AnafService = 'oauth-request'${query.status ? ` AND AnafStage = ${visibilityString(query.status)}` : ''}`;
      const items: Array<Omit<AuthorizationRequestView, 'url' | 'shortUrl'>> = [];
      for await (const wf of ctx.client.workflow.list({ query: visibility, pageSize: 100 })) {
        let view: AuthorizationRequestView;
        try {
          view = await ctx.client.workflow.getHandle(wf.workflowId).query(requestStatusQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        if (query.scope && !(view.scopes ?? [view.scope]).includes(query.scope)) continue;
        // The listing leaves the sign-in links out: they carry the state.
        const { url: _url, shortUrl: _short, ...listed } = view;
        items.push(listed);
        if (items.length >= query.limit) break;
      }
      items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      res.json({ items });
    },
  );
}

export function mountAuthorizationRequestRoutes(router: Router, ctx: ApiContext): void {
  const sealer = new TokenSealBox(ctx.config.tokenSealing.publicKeys);
  mountCreateAndList(router, ctx);

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/authorization-requests/{id}/finalize',
      summary: "The ERP's own callback: hand over ANAF's redirect (state and code, or state and error)",
      description:
        'For an ERP that registered its own redirect URI with ANAF. The code is sealed before it enters Temporal and exchanged at once. ' +
        '400 STATE_INVALID: unknown, expired or used state (nothing exchanged, the request unchanged). 410 CODE_EXPIRED: ANAF refused the code ' +
        '(expired or used), or `receivedAt` is more than 60 s ago (then ANAF is not called and the request stays open).',
      tags: ['OAuth'],
      request: { params: z.object({ id: z.string().max(64) }), body: Finalize },
      responses: { 200: jsonResponse('Finalized', Finalized) },
      errors: [400, 410, 502, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const parsed = parseState(body.state);
      if (!parsed || parsed.tenant !== tenant || parsed.requestId !== params.id) throw STATE_INVALID();
      if (body.code && body.receivedAt && Date.now() - Date.parse(body.receivedAt) > CODE_LIFETIME_MS) {
        throw new ApiError(
          410,
          'CODE_EXPIRED',
          "ANAF's code is valid for 60 s and this one was received earlier; have the user sign in again",
        );
      }
      const handle = ctx.client.workflow.getHandle(authorizationRequestWorkflowId(tenant, params.id));
      let result: CallbackResult;
      try {
        result = await handle.executeUpdate(callbackUpdate, { args: [callbackInput(sealer, body)] });
      } catch (err) {
        throw stateInvalid(err) ?? err;
      }
      if (result.codeRejected) throw new ApiError(410, 'CODE_EXPIRED', `ANAF refused the code: ${result.message}`);
      if (result.outcome === 'FAILED') throw new ApiError(502, 'AUTHORIZATION_FAILED', result.message);
      const view = await handle.query(requestStatusQuery);
      const authorizationId = view.authorizationId ?? legacyAuthorizationId(view.cif, view.scope);
      res.json({
        id: params.id,
        outcome: result.outcome,
        message: result.message,
        authorizationId: result.outcome === 'AUTHORIZED' ? authorizationId : null,
      });
    },
  );
}
