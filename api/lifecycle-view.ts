import type { LifecycleStatus, WebhookStatus } from '../workflows/shared/lifecycle/types';
import type { LoadedResource } from './workflow-resource';
import { z } from './zod';

/**
 * What every upload lifecycle's view (e-Factura submission, e-Transport declaration, BANCIWS
 * exchange) shows alike, as zod fields each resource's schema spreads. The schemas are the
 * source of the API's types (z.infer); each presenter is typed with its schema's type, so a
 * workflow view that stops fitting the documented shape fails to compile.
 */

export const UploadAttemptSchema = z.object({
  n: z.number(),
  startedAt: z.string(),
  result: z.string(),
  uploadIndex: z.string().optional(),
  error: z.string().optional(),
});

export const DecisionSchema = z.object({ at: z.string(), decision: z.string(), detail: z.string() });

export const WebhookSchema = z.object({
  url: z.string(),
  state: z.string(),
  attempts: z.number().optional(),
  error: z.string().optional(),
});

/** First in every resource: which workflow, and how Temporal sees it. */
export const resourceHeadFields = {
  id: z.string(),
  status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']),
  temporalStatus: z.string(),
};

/** Last in every resource: attention, webhook and times (workflows/shared/lifecycle/types.ts LifecycleStatus). */
export const lifecycleTailFields = {
  needsAttention: z.boolean(),
  attentionReason: z.string().optional(),
  webhook: WebhookSchema.optional(),
  receivedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
};

/** The fields of `view` named in `keys` that are set: optional fields are left out rather than sent as null. */
export function definedFields<V extends object, K extends keyof V>(view: V, ...keys: K[]): { [P in K]?: Exclude<V[P], undefined> } {
  const out: { [P in K]?: Exclude<V[P], undefined> } = {};
  for (const key of keys) if (view[key] !== undefined) out[key] = view[key] as Exclude<V[K], undefined>;
  return out;
}

export function resourceHead(id: string, loaded: Pick<LoadedResource<unknown>, 'status' | 'temporalStatus'>) {
  return { id, status: loaded.status, temporalStatus: loaded.temporalStatus };
}

export function lifecycleTail<W extends WebhookStatus>(view: LifecycleStatus<W>) {
  return {
    needsAttention: view.needsAttention,
    ...definedFields(view, 'attentionReason', 'webhook'),
    receivedAt: view.receivedAt,
    updatedAt: view.updatedAt,
    ...definedFields(view, 'finishedAt'),
  };
}

/** The timing a lifecycle is started with, from its service's config section (fixed at start: replays see the same). */
export function lifecycleSettings(section: { firstPollDelayMs: number; maxPollIntervalMs: number; listingDelayMs: number }) {
  return {
    firstPollDelayMs: section.firstPollDelayMs,
    maxPollIntervalMs: section.maxPollIntervalMs,
    listingDelayMs: section.listingDelayMs,
  };
}
