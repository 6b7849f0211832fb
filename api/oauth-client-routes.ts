import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Router } from 'express';
import { OAUTH_SCOPES, type OAuthScope } from '../lib/config/config';
import { publicCredentialSet } from '../services/clients/oauth-credential-sets';
import { TokenSealBox } from '../lib/crypto/token-seal';
import {
  addClientUpdate,
  CLIENT_REGISTRY_WORKFLOW_ID,
  type oauthClientRegistry,
  REGISTRY_REFUSALS,
  type RegisteredClient,
  retireClientUpdate,
  rotateClientSecretUpdate,
} from '../workflows/oauth/client-registry';
import type { ApiContext } from './context';
import { jsonResponse, routeDefiner } from './define-route';
import { ApiError } from './errors';
import { registryOf } from './oauth-credential-choice';
import { isHttpsOrLocalUrl } from './oauth-routes';
import { z } from './zod';

/**
 * OAuth client credential sets at run time (operator keys only): list, add, rotate a secret,
 * retire. The sets from env (ANAF_CLIENT_*, ANAF_OAUTH_CLIENTS) are listed and read-only.
 * A secret is sealed here, with the TOKEN_SEALING public key, before it goes anywhere; only
 * workers open it. No answer, log line or history holds it.
 */

const RETIREMENT_NOTE =
  'New authorization requests may no longer use this set. Authorizations already made with it keep refreshing and revoking with it: ANAF binds a refresh token to the client that obtained it.';

const CredentialSetId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'letters, digits, dot, dash, underscore');
const Secret = z.string().min(1).max(1_000).openapi({ description: 'Sealed on arrival; never shown again' });

const CredentialSetSchema = z
  .object({
    id: z.string(),
    source: z.enum(['env', 'api']).openapi({ description: '`env` sets are read-only here' }),
    clientId: z.string(),
    redirectUri: z.string(),
    scopes: z.array(z.enum(OAUTH_SCOPES)),
    createdAt: z.string().optional(),
    secretRotatedAt: z.string().optional(),
    retiredAt: z.string().optional().openapi({ description: 'Refused for new sign-ins since; existing authorizations keep using it' }),
  })
  .openapi('OAuthCredentialSet');

const RetiredCredentialSetSchema = CredentialSetSchema.extend({ note: z.string() }).openapi('RetiredOAuthCredentialSet');

const AddCredentialSet = z
  .object({
    id: CredentialSetId,
    clientId: z.string().min(1).max(200),
    clientSecret: Secret,
    // Checked by the handler: a bad URL or scope is a 422 with its own code, not a shape error.
    redirectUri: z.string().max(2_000).openapi({ format: 'uri', description: 'The callback registered with ANAF for this client' }),
    scopes: z.array(z.string()).openapi({ description: `Non-empty, of ${OAUTH_SCOPES.join(', ')}` }),
  })
  .openapi('AddOAuthCredentialSet');

// Not `{id}`: on operator routes that parameter names a tenant's workflow (api/auth.ts).
const IdParams = z.object({ setId: CredentialSetId });

function validScopes(scopes: string[]): OAuthScope[] {
  const known = new Set<string>(OAUTH_SCOPES);
  if (scopes.length === 0 || scopes.some((s) => !known.has(s)) || new Set(scopes).size !== scopes.length) {
    throw new ApiError(422, 'INVALID_SCOPES', `scopes must be a non-empty list of distinct values of ${OAUTH_SCOPES.join(', ')}`);
  }
  return scopes as OAuthScope[];
}

/** The registry's refusals (its Update validators) as typed answers. */
function registryFailure(err: unknown, id: string): unknown {
  if (err instanceof WorkflowNotFoundError) return new ApiError(404, 'CREDENTIAL_SET_NOT_FOUND', `no credential set "${id}"`);
  if (!(err instanceof WorkflowUpdateFailedError)) return err;
  const cause = err.cause as { type?: string; message?: string } | undefined;
  const message = cause?.message ?? err.message;
  switch (cause?.type) {
    case REGISTRY_REFUSALS.EXISTS:
      return new ApiError(409, 'CREDENTIAL_SET_EXISTS', message);
    case REGISTRY_REFUSALS.CALLBACK_IN_USE:
      return new ApiError(409, 'CALLBACK_IN_USE', message);
    case REGISTRY_REFUSALS.NOT_FOUND:
      return new ApiError(404, 'CREDENTIAL_SET_NOT_FOUND', message);
    default:
      return err;
  }
}

export function mountOAuthClientRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['OAuth clients']);
  const sealer = new TokenSealBox(ctx.config.tokenSealing.publicKeys);
  const registry = () => ctx.client.workflow.getHandle<typeof oauthClientRegistry>(CLIENT_REGISTRY_WORKFLOW_ID);
  /** Env sets are configuration, not records: the API changes none of them. */
  const refuseEnvSet = (id: string) => {
    if (ctx.config.oauth.credentialSets.some((s) => s.id === id)) {
      throw new ApiError(
        409,
        'CREDENTIAL_SET_FROM_ENV',
        `credential set "${id}" comes from the environment (ANAF_CLIENT_* / ANAF_OAUTH_CLIENTS); change it there`,
      );
    }
  };
  const answer = (set: RegisteredClient) => publicCredentialSet({ ...set, source: 'api' });
  /** One Update of a run-time set, its refusals typed, its answer without the secret. */
  const change = async (setId: string, update: (handle: ReturnType<typeof registry>) => Promise<RegisteredClient>) => {
    refuseEnvSet(setId);
    try {
      return answer(await update(registry()));
    } catch (err) {
      throw registryFailure(err, setId);
    }
  };

  route(
    {
      method: 'get',
      permission: 'operate',
      path: '/v1/oauth-clients',
      summary: 'Every OAuth client credential set: from env (read-only) and added through the API; never a secret',
      responses: { 200: jsonResponse('Credential sets', z.object({ items: z.array(CredentialSetSchema) })) },
      errors: [503],
    },
    async (_input, _req, res) => {
      res.json({ items: (await registryOf(ctx).all()).map(publicCredentialSet) });
    },
  );

  route(
    {
      method: 'post',
      permission: 'operate',
      path: '/v1/oauth-clients',
      summary: 'Add a credential set (a client registered with ANAF); new sign-ins may use it at once',
      request: { body: AddCredentialSet },
      responses: { 201: jsonResponse('Added', CredentialSetSchema) },
      errors: [409, 422, 503],
    },
    async ({ body }, _req, res) => {
      refuseEnvSet(body.id);
      if (!isHttpsOrLocalUrl(body.redirectUri)) {
        throw new ApiError(422, 'INVALID_REDIRECT_URI', 'redirectUri must be an https URL (http only on localhost), without credentials');
      }
      const scopes = validScopes(body.scopes);
      const clash = ctx.config.oauth.credentialSets.find(
        (s) => s.redirectUri === body.redirectUri && s.scopes.some((x) => scopes.includes(x)),
      );
      if (clash)
        throw new ApiError(
          409,
          'CALLBACK_IN_USE',
          `credential set "${clash.id}" (from env) already uses ${body.redirectUri} for one of these scopes`,
        );
      const request = {
        id: body.id,
        clientId: body.clientId,
        sealedSecret: sealer.seal(body.clientSecret),
        redirectUri: body.redirectUri,
        scopes,
      };
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof oauthClientRegistry>('oauthClientRegistry', {
        workflowId: CLIENT_REGISTRY_WORKFLOW_ID,
        taskQueue: ctx.config.temporal.taskQueue,
        args: [{}],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      let added: RegisteredClient;
      try {
        added = await ctx.client.workflow.executeUpdateWithStart(addClientUpdate, { args: [request], startWorkflowOperation });
      } catch (err) {
        throw registryFailure(err, body.id);
      }
      res.status(201).json(answer(added));
    },
  );

  route(
    {
      method: 'put',
      permission: 'operate',
      path: '/v1/oauth-clients/{setId}/secret',
      summary: "Rotate a set's client secret: the next code exchange, refresh and revoke use the new one",
      request: { params: IdParams, body: z.object({ clientSecret: Secret }).openapi('RotateOAuthClientSecret') },
      responses: { 200: jsonResponse('Rotated', CredentialSetSchema) },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const sealedSecret = sealer.seal(body.clientSecret);
      res.json(
        await change(params.setId, (h) => h.executeUpdate(rotateClientSecretUpdate, { args: [{ id: params.setId, sealedSecret }] })),
      );
    },
  );

  route(
    {
      method: 'delete',
      permission: 'operate',
      path: '/v1/oauth-clients/{setId}',
      summary: 'Retire a set: refused for new sign-ins at once; existing authorizations keep refreshing and revoking with it',
      request: { params: IdParams },
      responses: { 200: jsonResponse('Retired', RetiredCredentialSetSchema) },
      errors: [404, 409, 503],
    },
    async ({ params }, _req, res) => {
      res.json({
        ...(await change(params.setId, (h) => h.executeUpdate(retireClientUpdate, { args: [{ id: params.setId }] }))),
        note: RETIREMENT_NOTE,
      });
    },
  );
}
