import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { CachedRead } from '../../lib/temporal/cached-read';
import { organizationWorkflowId } from '../../workflows/organization';

/** What the organization workflow publishes in its memo: its authorization links and ANAF environment overrides. */
export type OrganizationMemo = Record<string, unknown>;

/** The organization as a describe shows it (no workflow task): its memo, and whether it runs (ended: deleted); undefined when there is none. */
export async function describeOrganization(
  client: Client,
  tenant: string,
  cif: string,
): Promise<{ memo: OrganizationMemo; running: boolean } | undefined> {
  try {
    const described = await client.workflow.getHandle(organizationWorkflowId(tenant, cif)).describe();
    return { memo: described.memo ?? {}, running: described.status.name === 'RUNNING' };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The organization's memo; `{}` when there is no organization. */
export async function organizationMemoOf(client: Client, tenant: string, cif: string): Promise<OrganizationMemo> {
  return (await describeOrganization(client, tenant, cif))?.memo ?? {};
}

/** How long a stale memo may stand in while Temporal cannot be asked (as a cached token). */
const STALE_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * One worker's reads of organizations' memos: which sign-in serves a company and which ANAF
 * environment it uses both live there, and an ANAF call needs both — one describe per
 * organization per `cacheMs` serves the token routing and the environment choice of every
 * service in the process (the answers change rarely; a change applies within `cacheMs`).
 */
export class OrganizationMemos {
  private readonly memos: CachedRead<OrganizationMemo>;

  constructor(
    private readonly client: Client,
    cacheMs: number,
  ) {
    this.memos = new CachedRead({ cacheMs, staleMaxAgeMs: STALE_MAX_AGE_MS });
  }

  of(tenant: string, cif: string): Promise<OrganizationMemo> {
    return this.memos.get(organizationWorkflowId(tenant, cif), () => organizationMemoOf(this.client, tenant, cif));
  }

  /** The next read of this organization asks Temporal (an answer known to be stale). */
  forget(tenant: string, cif: string): void {
    this.memos.forget(organizationWorkflowId(tenant, cif));
  }
}
