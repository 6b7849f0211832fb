import type { google, temporal } from '@temporalio/proto';
import { parseWorkflowId } from '../lib/temporal/workflow-ids';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { publicStatus, visibilityString } from './workflow-access';
import { z } from './zod';

/**
 * Listing a tenant's workflows of one kind straight from Temporal visibility, filtered by
 * our search attributes: no second database to keep in sync, and what the API lists is
 * exactly what an operator finds in the Web UI with the same query.
 */

export interface ListedWorkflow {
  id: string;
  status: string;
  temporalStatus: string;
  cif?: string;
  stage?: string;
  outcome?: string;
  uploadIndex?: string;
  needsAttention?: boolean;
  startedAt?: string;
  closedAt?: string;
}

/** A page of a visibility listing, as documented. */
export const VisibilityPageSchema = z.object({ items: z.array(z.any()), nextPageToken: z.string().optional() });

/** Filters every listing offers, on the search attributes every workflow sets. */
export interface VisibilityFilters {
  cif?: string | undefined;
  stage?: string | undefined;
  outcome?: string | undefined;
  uploadIndex?: string | undefined;
  needsAttention?: 'true' | 'false' | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export function visibilityQuery(tenant: string, what: { service: string; workflowType: string }, p: VisibilityFilters): string {
  const clauses = [
    `AnafTenant = ${visibilityString(tenant)}`,
    `AnafService = ${visibilityString(what.service)}`,
    `WorkflowType = ${visibilityString(what.workflowType)}`,
  ];
  if (p.cif) clauses.push(`AnafCif = ${visibilityString(p.cif)}`);
  if (p.stage) clauses.push(`AnafStage = ${visibilityString(p.stage)}`);
  if (p.outcome) clauses.push(`AnafOutcome = ${visibilityString(p.outcome)}`);
  if (p.uploadIndex) clauses.push(`AnafUploadIndex = ${visibilityString(p.uploadIndex)}`);
  if (p.needsAttention) clauses.push(`AnafNeedsAttention = ${p.needsAttention}`);
  if (p.from) clauses.push(`StartTime >= ${visibilityString(new Date(p.from).toISOString())}`);
  if (p.to) clauses.push(`StartTime < ${visibilityString(new Date(p.to).toISOString())}`);
  return clauses.join(' AND ');
}

/** Search attributes arrive as JSON payloads (never through the codec). */
function attribute(fields: Record<string, temporal.api.common.v1.IPayload> | null | undefined, name: string): unknown {
  const payload = fields?.[name];
  if (!payload?.data) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
    return Array.isArray(value) ? value[0] : value;
  } catch {
    return undefined;
  }
}

const STATUS_NAMES: Record<number, string> = {
  1: 'RUNNING',
  2: 'COMPLETED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'TERMINATED',
  6: 'CONTINUED_AS_NEW',
  7: 'TIMED_OUT',
};

const isoOf = (ts: google.protobuf.ITimestamp | null | undefined) =>
  ts?.seconds != null ? new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString() : undefined;

export async function listVisibleWorkflows(
  ctx: ApiContext,
  tenant: string,
  kind: string,
  p: { query: string; limit: number; pageToken?: string | undefined },
): Promise<{ items: ListedWorkflow[]; nextPageToken?: string }> {
  let nextPageToken: Uint8Array | undefined;
  if (p.pageToken) {
    try {
      nextPageToken = Buffer.from(p.pageToken, 'base64url');
    } catch {
      throw new ApiError(400, 'INVALID_PAGE_TOKEN', 'pageToken is not one this API handed out');
    }
  }
  const response = await ctx.client.workflowService.listWorkflowExecutions({
    namespace: ctx.config.temporal.namespace,
    query: p.query,
    pageSize: p.limit,
    ...(nextPageToken ? { nextPageToken } : {}),
  });
  const items: ListedWorkflow[] = [];
  for (const info of response.executions ?? []) {
    const id = info.execution?.workflowId ?? '';
    const parsed = parseWorkflowId(id);
    // Visibility filters on the tenant already; the id prefix is a second, independent check.
    if (!parsed || parsed.tenant !== tenant || parsed.kind !== kind) continue;
    const fields = info.searchAttributes?.indexedFields;
    const temporalStatus = STATUS_NAMES[info.status ?? 0] ?? 'UNKNOWN';
    const str = (name: string) => {
      const v = attribute(fields, name);
      return typeof v === 'string' ? v : undefined;
    };
    const attention = attribute(fields, 'AnafNeedsAttention');
    items.push({
      id,
      status: publicStatus(temporalStatus as never),
      temporalStatus,
      ...(str('AnafCif') ? { cif: str('AnafCif') } : {}),
      ...(str('AnafStage') ? { stage: str('AnafStage') } : {}),
      ...(str('AnafOutcome') ? { outcome: str('AnafOutcome') } : {}),
      ...(str('AnafUploadIndex') ? { uploadIndex: str('AnafUploadIndex') } : {}),
      ...(typeof attention === 'boolean' ? { needsAttention: attention } : {}),
      ...(isoOf(info.startTime) ? { startedAt: isoOf(info.startTime) } : {}),
      ...(isoOf(info.closeTime) ? { closedAt: isoOf(info.closeTime) } : {}),
    });
  }
  const token =
    response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { items, ...(token ? { nextPageToken: token } : {}) };
}
