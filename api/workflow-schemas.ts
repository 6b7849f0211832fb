import { IDEMPOTENCY_KEY_PATTERN } from '../lib/temporal/workflow-ids';
import type { AppConfig } from '../lib/config/config';
import { z } from './zod';

/** Schemas every "start a tenant workflow, then follow it" route shares (see connectivity-routes.ts). */

/** The ERP's retry key; it becomes part of the workflow id, which is what makes starts idempotent. */
export const IdempotencyKeyHeader = z
  .string({ error: (issue) => (issue.input === undefined ? 'Idempotency-Key header is required' : undefined) })
  .regex(IDEMPOTENCY_KEY_PATTERN, 'Idempotency-Key must be 1–100 characters of letters, digits, ".", "_", ":" or "-"')
  .openapi({
    description: 'Your unique id for this request; repeating it returns the same workflow instead of starting another.',
    example: 'erp-2024-000123',
  });

export const IdempotencyHeaders = z.object({ 'Idempotency-Key': IdempotencyKeyHeader });

export const WorkflowStatusSchema = z.enum(['RUNNING', 'COMPLETED', 'FAILED']).openapi('WorkflowStatus');

export const WorkflowAccepted = z
  .object({
    id: z.string().openapi({ example: 'acme/connectivity/erp-2024-000123' }),
    status: WorkflowStatusSchema,
    statusUrl: z.string().url().openapi({ description: 'GET it to follow the workflow (id URL-encoded)' }),
  })
  .openapi('WorkflowAccepted');

/** Workflow ids contain "/": clients URL-encode them in paths, as statusUrl does. */
export const WorkflowIdParam = z.object({
  id: z.string().min(1).max(300).openapi({ description: 'Workflow id, URL-encoded', example: 'acme%2Fconnectivity%2Ferp-2024-000123' }),
});

export const WorkflowFailureSchema = z.object({ message: z.string(), type: z.string().optional() }).openapi('WorkflowFailure');

/** Spread into a feature's own summary/detail schemas (which add a typed `result`). */
export const workflowSummaryFields = {
  id: z.string(),
  status: WorkflowStatusSchema,
  temporalStatus: z.string().openapi({ description: 'Temporal execution status (RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED, …)' }),
  startedAt: z.string().datetime(),
  closedAt: z.string().datetime().optional(),
};

export const ListLimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export function statusUrlFor(ctx: { config: AppConfig }, collectionPath: string, workflowId: string): string {
  return `${ctx.config.api.publicUrl}${collectionPath}/${encodeURIComponent(workflowId)}`;
}
