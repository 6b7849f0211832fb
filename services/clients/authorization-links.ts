import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { OAuthScope } from '../../lib/config/config';
import { AUTHORIZATION_LINKS_MEMO, type AuthorizationLinks, organizationWorkflowId } from '../../workflows/organization';
import { authorizationWorkflowId, legacyAuthorizationId, workflowIdOfAuthorization } from '../../workflows/oauth/types';

/**
 * Which authorization serves (tenant, CIF, scope) — issue 16's routing, read from the organization
 * workflow's memo with a describe (no workflow task: submissions and token lookups ask often).
 * No organization, or no link for the scope: the legacy per-organization authorization.
 */
export async function authorizationLinksOf(client: Client, tenant: string, cif: string): Promise<AuthorizationLinks> {
  try {
    const memo = (await client.workflow.getHandle(organizationWorkflowId(tenant, cif)).describe()).memo ?? {};
    return (memo[AUTHORIZATION_LINKS_MEMO] as AuthorizationLinks | undefined) ?? {};
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return {};
    throw err;
  }
}

export interface ServingAuthorization {
  authorizationId: string;
  workflowId: string;
  /** False: the legacy per-organization authorization (no link). */
  linked: boolean;
}

export async function servingAuthorization(
  client: Client,
  key: { tenant: string; cif: string; scope: OAuthScope },
): Promise<ServingAuthorization> {
  const linked = (await authorizationLinksOf(client, key.tenant, key.cif))[key.scope];
  const workflowId = linked ? workflowIdOfAuthorization(key.tenant, linked) : undefined;
  if (linked && workflowId) return { authorizationId: linked, workflowId, linked: true };
  return { authorizationId: legacyAuthorizationId(key.cif, key.scope), workflowId: authorizationWorkflowId(key), linked: false };
}
