import type { ApiContext } from './context';
import { CifSchema } from './organization-routes';
import { type ListedWorkflow, listVisibleWorkflows, visibilityQuery } from './visibility-listing';
import { z } from './zod';
import { SUBMISSION_OUTCOMES, SUBMISSION_STAGES } from '../workflows/efactura/types';

/** Listing e-Factura submissions (see visibility-listing.ts). */

export const SubmissionListQuery = z.object({
  cif: CifSchema.optional(),
  stage: z.enum(SUBMISSION_STAGES).optional(),
  outcome: z.enum(SUBMISSION_OUTCOMES).optional(),
  needsAttention: z.enum(['true', 'false']).optional(),
  uploadIndex: z
    .string()
    .regex(/^[0-9]{1,20}$/)
    .optional(),
  from: z.string().datetime({ offset: true }).optional().openapi({ description: 'Submitted at or after (ISO 8601)' }),
  to: z.string().datetime({ offset: true }).optional().openapi({ description: 'Submitted before (ISO 8601)' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  pageToken: z.string().max(4000).optional(),
});

export type SubmissionListParams = z.infer<typeof SubmissionListQuery>;

export type SubmissionSummary = ListedWorkflow;

export function submissionListQuery(tenant: string, p: SubmissionListParams): string {
  return visibilityQuery(tenant, { service: 'efactura', workflowType: 'efacturaSubmission' }, p);
}

export function listSubmissions(
  ctx: ApiContext,
  tenant: string,
  p: SubmissionListParams,
): Promise<{ items: SubmissionSummary[]; nextPageToken?: string }> {
  return listVisibleWorkflows(ctx, tenant, 'efactura', { query: submissionListQuery(tenant, p), limit: p.limit, pageToken: p.pageToken });
}
