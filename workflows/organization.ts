import { condition, defineQuery, defineSignal, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { AnafCif, AnafService, AnafStage, AnafTenant } from './search-attributes';

export interface OrganizationRecord {
  tenant: string;
  cif: string;
  name: string;
  createdAt: string;
}

export const organizationQuery = defineQuery<OrganizationRecord>('organization');
export const deleteOrganizationSignal = defineSignal('delete');

export function organizationWorkflowId(tenant: string, cif: string): string {
  return `${tenant}/org/${cif}`;
}

/**
 * An organization (a company, by CIF) registered by a tenant. Temporal is the record:
 * the workflow id makes it unique per tenant, visibility lists it, and it ends when deleted.
 */
export async function organization(record: OrganizationRecord): Promise<OrganizationRecord> {
  let deleted = false;
  upsertSearchAttributes([
    { key: AnafTenant, value: record.tenant },
    { key: AnafService, value: 'organization' },
    { key: AnafCif, value: record.cif },
    { key: AnafStage, value: 'ACTIVE' },
  ]);
  setHandler(organizationQuery, () => record);
  setHandler(deleteOrganizationSignal, () => {
    deleted = true;
  });
  await condition(() => deleted);
  upsertSearchAttributes([{ key: AnafStage, value: 'DELETED' }]);
  return record;
}
