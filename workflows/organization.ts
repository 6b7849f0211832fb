import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OAuthScope } from './oauth/types';
import { registerEnvironmentHandlers } from './organization-environments';
import { AnafCif, AnafService, AnafStage, AnafTenant } from '../lib/temporal/search-attributes';

export interface OrganizationRecord {
  tenant: string;
  cif: string;
  name: string;
  createdAt: string;
}

/** Which authorization serves this organization, per scope (authorization ids, see workflows/oauth/types.ts). */
export type AuthorizationLinks = Partial<Record<OAuthScope, string>>;

export interface LinkAuthorizationRequest {
  scope: OAuthScope;
  authorizationId: string;
  /** Link only if the scope is served by this one now (null: by none); else refused with LinkChanged. */
  expectedAuthorizationId?: string | null;
}

/** Unlink `scope`; with `authorizationId`, only if that authorization is the one linked now (else LinkChanged). */
export interface UnlinkAuthorizationRequest {
  scope: OAuthScope;
  authorizationId?: string;
}

/** The failure type of a link or unlink refused because the scope's link is not the one the caller expected. */
export const LINK_CHANGED = 'LinkChanged';
/** The failure type of a delete refused because the organization is still linked to an authorization (its details: the scopes). */
export const LINKS_REMAIN = 'LinksRemain';

export const organizationQuery = defineQuery<OrganizationRecord>('organization');
/** Kept for callers older than deleteOrganizationUpdate and for stored histories: it cannot refuse a linked organization. */
export const deleteOrganizationSignal = defineSignal('delete');
/** Delete the organization; refused (LINKS_REMAIN) while any scope is linked, so no authorization is left listing it. */
export const deleteOrganizationUpdate = defineUpdate<void>('deleteOrganization');
export const authorizationLinksQuery = defineQuery<AuthorizationLinks>('authorizationLinks');
/** Returns the authorization that served the scope before (undefined: none). */
export const linkAuthorizationUpdate = defineUpdate<{ previousAuthorizationId?: string }, [LinkAuthorizationRequest]>('linkAuthorization');
/** Returns the authorization that served the scope (undefined: none was linked). */
export const unlinkAuthorizationUpdate = defineUpdate<{ removedAuthorizationId?: string }, [UnlinkAuthorizationRequest]>(
  'unlinkAuthorization',
);

/** The memo key holding the links (only written by the link handlers: older organizations have none). */
export const AUTHORIZATION_LINKS_MEMO = 'authorizationLinks';

export function organizationWorkflowId(tenant: string, cif: string): string {
  return `${tenant}/org/${cif}`;
}

/**
 * The delete as an update: it does what the signal does, but its validator refuses while a link
 * remains (one made after the API unlinked everything), so the API unlinks again instead of leaving a
 * deleted organization that an authorization still lists. Links are made by updates this workflow
 * serializes: once the handler ran, a later link is refused as for a deleted organization. A new
 * handler, no command of its own: stored histories replay unchanged.
 */
function handleDeleteUpdate(links: AuthorizationLinks, markDeleted: () => void): void {
  setHandler(deleteOrganizationUpdate, markDeleted, {
    validator: () => {
      const scopes = (Object.keys(links) as OAuthScope[]).filter((scope) => links[scope] !== undefined);
      if (scopes.length === 0) return;
      throw ApplicationFailure.create({
        type: LINKS_REMAIN,
        message: `still linked to an authorization for ${scopes.join(', ')}; unlink first`,
        details: [scopes],
      });
    },
  });
}

/**
 * An organization (a company, by CIF) registered by a tenant. Temporal is the record:
 * the workflow id makes it unique per tenant, visibility lists it, and it ends when deleted.
 * It also holds the routing of issue 16: which authorization (sign-in) serves it for each
 * scope. Only new update handlers write it (state and memo), so stored histories replay unchanged.
 */
export async function organization(record: OrganizationRecord): Promise<OrganizationRecord> {
  let deleted = false;
  const links: AuthorizationLinks = {};
  upsertSearchAttributes([
    { key: AnafTenant, value: record.tenant },
    { key: AnafService, value: 'organization' },
    { key: AnafCif, value: record.cif },
    { key: AnafStage, value: 'ACTIVE' },
  ]);
  setHandler(organizationQuery, () => record);
  setHandler(authorizationLinksQuery, () => ({ ...links }));
  const markDeleted = () => {
    deleted = true;
  };
  setHandler(deleteOrganizationSignal, markDeleted);
  handleDeleteUpdate(links, markDeleted);
  registerEnvironmentHandlers(() => deleted);
  // In the memo too: submissions and token lookups read it with a describe, no workflow task per call.
  const publishLinks = () => upsertMemo({ [AUTHORIZATION_LINKS_MEMO]: { ...links } });
  const refuseWhenDeleted = (_req: unknown) => {
    if (deleted) throw new Error('organization deleted');
  };
  // Validators only: a refused link or unlink writes nothing to history, so older histories replay.
  const refuseUnexpected = (scope: OAuthScope, expected: string | null, own?: string) => {
    const now = links[scope];
    if ((now ?? null) === expected || (own !== undefined && now === own)) return;
    throw ApplicationFailure.create({
      type: LINK_CHANGED,
      message: `${scope} is linked to ${now ?? 'no authorization'} now, not ${expected ?? 'none'}`,
    });
  };
  setHandler(
    linkAuthorizationUpdate,
    ({ scope, authorizationId }) => {
      const previous = links[scope];
      links[scope] = authorizationId;
      publishLinks();
      return previous !== undefined && previous !== authorizationId ? { previousAuthorizationId: previous } : {};
    },
    {
      validator: (req) => {
        refuseWhenDeleted(req);
        if (req.expectedAuthorizationId !== undefined) refuseUnexpected(req.scope, req.expectedAuthorizationId, req.authorizationId);
      },
    },
  );
  setHandler(
    unlinkAuthorizationUpdate,
    ({ scope }) => {
      const removed = links[scope];
      delete links[scope];
      publishLinks();
      return removed !== undefined ? { removedAuthorizationId: removed } : {};
    },
    {
      validator: (req) => {
        refuseWhenDeleted(req);
        if (req.authorizationId !== undefined) refuseUnexpected(req.scope, req.authorizationId);
      },
    },
  );
  await condition(() => deleted);
  upsertSearchAttributes([{ key: AnafStage, value: 'DELETED' }]);
  return record;
}
