import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Router } from 'express';
import { isValidCif, isValidCifOrCnp, normalizeCif } from '../schemas/cif';
import type { OrganizationRecord } from '../workflows/organization';
import { deleteOrganizationSignal, organizationQuery, organizationWorkflowId } from '../workflows/organization';
import { AnafCif, AnafService, AnafTenant } from '../workflows/search-attributes';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError } from './errors';
import { listAuthorizations } from './oauth-authorizations';
import { visibilityString } from './workflow-access';
import { z } from './zod';

/** A company's CIF only: e-Factura, where an individual's CNP is not taken (see README, Identifiers). */
export const CifSchema = z
  .string()
  .transform(normalizeCif)
  .refine(isValidCif, { message: 'not a valid Romanian CIF (2–10 digits, check digit per ANAF); a CNP is not accepted here' })
  .openapi({ description: 'Romanian fiscal code; "RO" prefix accepted and stripped', example: '14399840' });

/**
 * A company's CIF or an individual's CNP (13 digits, its own check digit): organizations, their
 * authorizations and e-Transport, where ANAF takes individuals ("cif … maxim 13 cifre").
 */
export const TaxpayerCodeSchema = z
  .string()
  .transform(normalizeCif)
  .refine(isValidCifOrCnp, { message: 'not a valid Romanian CIF or CNP (check digit per ANAF)' })
  .openapi({ description: 'Romanian fiscal code (CIF, "RO" prefix accepted and stripped) or an individual\'s CNP', example: '14399840' });

/** An organization of e-Factura's: CIF only. */
export const CifParams = z.object({ cif: CifSchema });
/** Any organization: CIF or CNP. */
export const OrganizationParams = z.object({ cif: TaxpayerCodeSchema });

export const OrganizationSchema = z
  .object({ cif: z.string(), name: z.string(), createdAt: z.string().datetime() })
  .openapi('Organization');

const CreateOrganization = z
  .object({ cif: TaxpayerCodeSchema, name: z.string().trim().min(1).max(200) })
  .openapi('CreateOrganization');

const organizationNotFound = (cif: string) => new ApiError(404, 'ORGANIZATION_NOT_FOUND', `No organization with CIF ${cif}`);

/** The tenant's organization, or 404 ORGANIZATION_NOT_FOUND (also for a deleted one). */
export async function getOrganization(ctx: ApiContext, tenant: string, cif: string): Promise<OrganizationRecord> {
  const handle = ctx.client.workflow.getHandle(organizationWorkflowId(tenant, cif));
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') throw organizationNotFound(cif);
    // The record is immutable and its name/createdAt ride in the memo: no query, so no workflow
    // task on a worker for every submission that checks its organization exists.
    const memo = (description.memo ?? {}) as { name?: unknown; createdAt?: unknown };
    if (typeof memo.name === 'string' && typeof memo.createdAt === 'string') return { tenant, cif, name: memo.name, createdAt: memo.createdAt };
    return await handle.query(organizationQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw organizationNotFound(cif);
    throw err;
  }
}

const view = (r: OrganizationRecord) => ({ cif: r.cif, name: r.name, createdAt: r.createdAt });

export function mountOrganizationRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/organizations',
      summary: 'Register an organization (a company, by CIF)',
      tags: ['Organizations'],
      request: { body: CreateOrganization },
      responses: { 201: { description: 'Registered', content: { 'application/json': { schema: OrganizationSchema } } } },
      errors: [409, 503],
    },
    async ({ body }, _req, res) => {
      const tenant = tenantOf(res);
      const record: OrganizationRecord = { tenant, cif: body.cif, name: body.name, createdAt: new Date().toISOString() };
      try {
        await ctx.client.workflow.start('organization', {
          workflowId: organizationWorkflowId(tenant, body.cif),
          taskQueue: ctx.config.temporal.taskQueue,
          args: [record],
          workflowIdConflictPolicy: 'FAIL',
          // A deleted organization may be registered again.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: [
            { key: AnafTenant, value: tenant },
            { key: AnafService, value: 'organization' },
            { key: AnafCif, value: body.cif },
          ],
          memo: { name: body.name, createdAt: record.createdAt },
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new ApiError(409, 'ORGANIZATION_EXISTS', `Organization ${body.cif} is already registered`);
        }
        throw err;
      }
      res.status(201).location(`${ctx.config.api.publicUrl}/v1/organizations/${body.cif}`).json(view(record));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/organizations',
      summary: "List the tenant's organizations",
      tags: ['Organizations'],
      responses: {
        200: { description: 'Organizations', content: { 'application/json': { schema: z.object({ items: z.array(OrganizationSchema) }) } } },
      },
      errors: [503],
    },
    async (_input, _req, res) => {
      const tenant = tenantOf(res);
      const query = `AnafTenant = ${visibilityString(tenant)} AND AnafService = 'organization' AND ExecutionStatus = 'Running'`;
      const items: Array<z.infer<typeof OrganizationSchema>> = [];
      for await (const wf of ctx.client.workflow.list({ query })) {
        const cif = wf.typedSearchAttributes.get(AnafCif);
        const memo = (wf.memo ?? {}) as { name?: string; createdAt?: string };
        if (cif) items.push({ cif, name: memo.name ?? '', createdAt: memo.createdAt ?? wf.startTime.toISOString() });
        if (items.length >= 1000) break;
      }
      items.sort((a, b) => a.cif.localeCompare(b.cif));
      res.json({ items });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/organizations/{cif}',
      summary: 'One organization',
      tags: ['Organizations'],
      request: { params: OrganizationParams },
      responses: { 200: { description: 'The organization', content: { 'application/json': { schema: OrganizationSchema } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(view(await getOrganization(ctx, tenantOf(res), params.cif)));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'delete',
      permission: 'submit',
      path: '/v1/organizations/{cif}',
      summary: 'Remove an organization (revoke its authorizations first)',
      tags: ['Organizations'],
      request: { params: OrganizationParams },
      responses: { 204: { description: 'Removed' } },
      errors: [404, 409, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      const live = (await listAuthorizations(ctx, tenant, params.cif)).filter((a) => a.status !== 'REVOKED');
      if (live.length > 0) {
        throw new ApiError(
          409,
          'ORGANIZATION_HAS_AUTHORIZATIONS',
          `Revoke the organization's authorizations first (${live.map((a) => a.scope).join(', ')})`,
        );
      }
      const handle = ctx.client.workflow.getHandle(organizationWorkflowId(tenant, params.cif));
      await handle.signal(deleteOrganizationSignal);
      // Answer once it is gone, so a GET right after sees 404.
      await ctx.client.withDeadline(Date.now() + 10_000, () => handle.result());
      res.status(204).end();
    },
  );
}
