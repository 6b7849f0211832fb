import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes every anaf-flow workflow sets, so an operator finds any case
 * in the Web UI (`AnafTenant = "acme" AND AnafCif = "14399840" AND AnafStage = "POLLING"`).
 * Registered by the dev launcher and, on an existing cluster, by the worker at start-up.
 */
export const AnafTenant = defineSearchAttributeKey('AnafTenant', SearchAttributeType.KEYWORD);
export const AnafService = defineSearchAttributeKey('AnafService', SearchAttributeType.KEYWORD);
export const AnafCif = defineSearchAttributeKey('AnafCif', SearchAttributeType.KEYWORD);
export const AnafStage = defineSearchAttributeKey('AnafStage', SearchAttributeType.KEYWORD);
export const AnafOutcome = defineSearchAttributeKey('AnafOutcome', SearchAttributeType.KEYWORD);
export const AnafUploadIndex = defineSearchAttributeKey('AnafUploadIndex', SearchAttributeType.KEYWORD);
export const AnafNeedsAttention = defineSearchAttributeKey('AnafNeedsAttention', SearchAttributeType.BOOL);
/** The authorization (sign-in) whose token a workflow uses, set at start (issue 16): `az_…` or a legacy `org-{cif}-{scope}`. */
export const AnafAuthorizationId = defineSearchAttributeKey('AnafAuthorizationId', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [
  AnafTenant,
  AnafService,
  AnafCif,
  AnafStage,
  AnafOutcome,
  AnafUploadIndex,
  AnafNeedsAttention,
  AnafAuthorizationId,
] as const;

export type AnafServiceName =
  'system' | 'oauth' | 'efactura' | 'efactura-read' | 'efactura-inbox' | 'efactura-inbox-sync' | 'etransport' | 'banciws';
