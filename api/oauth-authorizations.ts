import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { OAuthScope } from '../lib/config/config';
import { OAUTH_SCOPES } from '../lib/config/config';
import { statusQuery } from '../workflows/oauth/definitions';
import { type AuthorizationView, authorizationWorkflowId, legacyAuthorizationId } from '../workflows/oauth/types';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/**
 * The companies an authorization serves: those linked to it, and for a legacy one its own
 * organization (implied by its id) unless that organization now uses another authorization.
 */
export function companiesOf(view: AuthorizationView): Array<{ cif: string; scope: OAuthScope; linkedAt: string }> {
  const linked = view.companies ?? [];
  if (view.cif === '' || linked.some((c) => c.cif === view.cif && c.scope === view.scope)) return linked;
  return [{ cif: view.cif, scope: view.scope, linkedAt: view.createdAt }, ...linked];
}

/** The authorization's lifecycle as the API shows it: never the tokens (the workflow does not expose them). */
export function publicAuthorization(view: AuthorizationView) {
  return {
    id: view.authorizationId ?? legacyAuthorizationId(view.cif, view.scope),
    label: view.label ?? null,
    scopes: view.scopes ?? [view.scope],
    companies: companiesOf(view),
    scope: view.scope,
    status: view.status,
    clientId: view.clientId,
    credentialSetId: view.credentialSetId,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    accessTokenExpiresAt: view.accessTokenExpiresAt ?? null,
    refreshTokenExpiresAt: view.refreshTokenExpiresAt ?? null,
    lastRefreshAt: view.lastRefreshAt ?? null,
    nextRefreshAt: view.nextRefreshAt ?? null,
    lastError: view.lastError ?? null,
    refreshCount: view.refreshCount,
    refreshTokenExpiringSoon: view.refreshTokenExpiringSoon,
    revocation: view.revocation ?? null,
    recentEvents: view.recentEvents,
  };
}

export const authorizationNotFound = (cif: string, scope: string) =>
  new ApiError(404, 'AUTHORIZATION_NOT_FOUND', `CIF ${cif} has no ${scope} authorization`);

export function authorizationHandle(ctx: ApiContext, tenant: string, cif: string, scope: OAuthScope) {
  return ctx.client.workflow.getHandle(authorizationWorkflowId({ tenant, cif, scope }));
}

export async function getAuthorization(ctx: ApiContext, tenant: string, cif: string, scope: OAuthScope): Promise<AuthorizationView> {
  try {
    return await authorizationHandle(ctx, tenant, cif, scope).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw authorizationNotFound(cif, scope);
    throw err;
  }
}

export async function listAuthorizations(ctx: ApiContext, tenant: string, cif: string): Promise<AuthorizationView[]> {
  const found = await Promise.all(
    OAUTH_SCOPES.map((scope) =>
      getAuthorization(ctx, tenant, cif, scope).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'AUTHORIZATION_NOT_FOUND') return undefined;
        throw err;
      }),
    ),
  );
  return found.filter((v): v is AuthorizationView => v !== undefined);
}

/** An update the lifecycle refused (validator) or whose handler failed, as a 409/502 with ANAF's reason. */
export function updateFailure(err: unknown, cif: string, scope: string): unknown {
  if (err instanceof WorkflowNotFoundError) return authorizationNotFound(cif, scope);
  if (!(err instanceof WorkflowUpdateFailedError)) return err;
  const message = err.cause?.message ?? err.message;
  const type = err.cause && 'type' in err.cause ? String((err.cause as { type?: unknown }).type ?? '') : '';
  if (type === 'RefreshFailed') return new ApiError(502, 'ANAF_REFRESH_FAILED', message);
  return new ApiError(409, type === 'NeedsReauthorization' ? 'NEEDS_REAUTHORIZATION' : 'AUTHORIZATION_NOT_USABLE', message);
}
