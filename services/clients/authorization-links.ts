import type { Client } from '@temporalio/client';
import type { OAuthScope } from '../../lib/config/config';
import { AUTHORIZATION_LINKS_MEMO, type AuthorizationLinks } from '../../workflows/organization';
import { authorizationWorkflowId, legacyAuthorizationId, workflowIdOfAuthorization } from '../../workflows/oauth/types';
import { type OrganizationMemo, organizationMemoOf } from './organization-memo';

/** The links in an organization's memo (none: no organization, or nothing linked). */
export function linksIn(memo: OrganizationMemo): AuthorizationLinks {
  return (memo[AUTHORIZATION_LINKS_MEMO] as AuthorizationLinks | undefined) ?? {};
}

/**
 * Which authorization serves (tenant, CIF, scope) — issue 16's routing, read from the organization
 * workflow's memo with a describe (no workflow task: submissions and token lookups ask often).
 * No organization, or no link for the scope: the legacy per-organization authorization.
 */
export async function authorizationLinksOf(client: Client, tenant: string, cif: string): Promise<AuthorizationLinks> {
  return linksIn(await organizationMemoOf(client, tenant, cif));
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
  return servingAuthorizationIn(await authorizationLinksOf(client, key.tenant, key.cif), key);
}

/** The serving authorization given the organization's links. */
export function servingAuthorizationIn(
  links: AuthorizationLinks,
  key: { tenant: string; cif: string; scope: OAuthScope },
): ServingAuthorization {
  const linked = links[key.scope];
  const workflowId = linked ? workflowIdOfAuthorization(key.tenant, linked) : undefined;
  if (linked && workflowId) return { authorizationId: linked, workflowId, linked: true };
  return { authorizationId: legacyAuthorizationId(key.cif, key.scope), workflowId: authorizationWorkflowId(key), linked: false };
}
