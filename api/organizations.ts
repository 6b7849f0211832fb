import { WorkflowNotFoundError } from '@temporalio/client';
import { type EnvironmentOverrides, readEnvironmentOverrides } from '../lib/anaf/anaf-environments';
import { isValidCif, isValidCifOrCnp, normalizeCif } from '../schemas/cif';
import { type OrganizationRecord, organizationQuery, organizationWorkflowId } from '../workflows/organization';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { z } from './zod';

/**
 * An organization as the routes of every service read it: its CIF's schemas and its record. Apart from
 * organization-routes.ts so that the authorization routes, which organization-routes.ts uses in turn
 * (deleting an organization unlinks it), can read organizations without an import cycle.
 */

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

export const organizationNotFound = (cif: string) => new ApiError(404, 'ORGANIZATION_NOT_FOUND', `No organization with CIF ${cif}`);

/** An organization and its environment overrides per scope (from the memo of the same describe). */
export type OrganizationWithEnvironments = OrganizationRecord & { environments: EnvironmentOverrides };

/** The tenant's organization, or 404 ORGANIZATION_NOT_FOUND (also for a deleted one). */
export async function getOrganization(ctx: ApiContext, tenant: string, cif: string): Promise<OrganizationWithEnvironments> {
  const handle = ctx.client.workflow.getHandle(organizationWorkflowId(tenant, cif));
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') throw organizationNotFound(cif);
    // The record is immutable and its name/createdAt ride in the memo: no query, so no workflow
    // task on a worker for every submission that checks its organization exists.
    const memo = (description.memo ?? {}) as { name?: unknown; createdAt?: unknown };
    const environments = readEnvironmentOverrides(memo);
    if (typeof memo.name === 'string' && typeof memo.createdAt === 'string')
      return { tenant, cif, name: memo.name, createdAt: memo.createdAt, environments };
    return { ...(await handle.query(organizationQuery)), environments };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw organizationNotFound(cif);
    throw err;
  }
}
