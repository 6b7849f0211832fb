import type { Router } from 'express';
import type { connectivityCheck } from '../workflows';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { routeDefiner } from './define-route';
import type { TenantWorkflowKind } from './workflow-access';
import {
  IdempotencyHeaders,
  ListLimitQuery,
  statusUrlFor,
  WorkflowAccepted,
  WorkflowFailureSchema,
  WorkflowIdParam,
  workflowSummaryFields,
} from './workflow-schemas';
import { z } from './zod';

export const CONNECTIVITY_CHECK: TenantWorkflowKind = {
  kind: 'connectivity',
  service: 'system',
  workflowType: 'connectivityCheck',
};

const ProbeResultSchema = z
  .object({
    name: z.enum(['oauth', 'api']),
    url: z.string(),
    reachable: z.boolean(),
    status: z.number().int().optional(),
    latencyMs: z.number(),
    error: z.string().optional(),
  })
  .openapi('ProbeResult');

const ConnectivityCheckSummary = z.object(workflowSummaryFields).openapi('ConnectivityCheckSummary');
const ConnectivityCheck = z
  .object({
    ...workflowSummaryFields,
    result: z.object({ ok: z.boolean(), probes: z.array(ProbeResultSchema) }).optional(),
    failure: WorkflowFailureSchema.optional(),
  })
  .openapi('ConnectivityCheck');
const ConnectivityCheckList = z.object({ items: z.array(ConnectivityCheckSummary) }).openapi('ConnectivityCheckList');

/**
 * Can the worker reach ANAF? Also the template for tenant-owned workflow routes:
 * idempotent start → 202 + statusUrl, describe, list — all through ctx.workflows, which
 * keeps every tenant inside its own workflows.
 */
export function mountConnectivityRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['Connectivity']);
  const collection = '/v1/connectivity-checks';

  route(
    {
      method: 'post',
      permission: 'submit',
      path: collection,
      summary: 'Start a connectivity check (worker → ANAF hosts)',
      request: { headers: IdempotencyHeaders },
      responses: {
        202: {
          description: 'Started, or already started with this Idempotency-Key',
          content: { 'application/json': { schema: WorkflowAccepted } },
        },
      },
      errors: [503],
    },
    async ({ headers }, _req, res) => {
      const tenant = tenantOf(res);
      // Started by name: importing the workflow module here would pull workflow-only code into the API process.
      const started = await ctx.workflows.start<typeof connectivityCheck>(tenant, CONNECTIVITY_CHECK, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [{ tenant }],
      });
      const statusUrl = statusUrlFor(ctx, collection, started.workflowId);
      res.status(202).location(statusUrl).json({ id: started.workflowId, status: started.status, statusUrl });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: collection,
      summary: "List this tenant's connectivity checks",
      request: { query: ListLimitQuery },
      responses: {
        200: { description: 'Newest first', content: { 'application/json': { schema: ConnectivityCheckList } } },
      },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const items = await ctx.workflows.list(tenantOf(res), CONNECTIVITY_CHECK, { limit: query.limit });
      res.json({ items });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: `${collection}/{id}`,
      summary: 'Status (and result, once completed) of a connectivity check',
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The check', content: { 'application/json': { schema: ConnectivityCheck } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(await ctx.workflows.describe(tenantOf(res), CONNECTIVITY_CHECK, params.id));
    },
  );
}
