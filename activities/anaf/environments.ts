import { ApplicationFailure } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import {
  type AnafApiEnvironment,
  apiBaseUrlFor,
  defaultApiEnvironment,
  type EnvironmentOverrides,
  readEnvironmentOverrides,
} from '../../lib/anaf/anaf-environments';
import type { OAuthScope } from '../../lib/config/config';
import { CachedRead } from '../../lib/temporal/cached-read';
import { organizationWorkflowId } from '../../workflows/organization';
import { FAILURE_TYPES } from './failures';

/** The overrides in the organization's memo (none: no organization, or never set). */
export async function environmentOverridesOf(client: Client, organizationWorkflowId: string): Promise<EnvironmentOverrides> {
  try {
    const memo = (await client.workflow.getHandle(organizationWorkflowId).describe()).memo ?? {};
    return readEnvironmentOverrides(memo);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return {};
    throw err;
  }
}

/** How long a stale answer may stand in while Temporal cannot be asked (as the token provider's links). */
const STALE_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * The environment of each ANAF call for (tenant, CIF, scope), decided per call from the
 * organization's memo and cached for `cacheMs` (a change applies within that time). Calls
 * belonging to an upload's lifecycle do not ask: they carry the environment fixed at its start.
 */
export class EnvironmentResolver {
  private readonly overrides: CachedRead<EnvironmentOverrides>;
  readonly defaultEnvironment: AnafApiEnvironment;

  constructor(
    private readonly client: Client,
    apiBaseUrl: string,
    cacheMs: number,
  ) {
    this.defaultEnvironment = defaultApiEnvironment(apiBaseUrl);
    this.overrides = new CachedRead({ cacheMs, staleMaxAgeMs: STALE_MAX_AGE_MS });
  }

  async environment(target: { tenant: string; cif: string }, scope: OAuthScope): Promise<AnafApiEnvironment> {
    const id = organizationWorkflowId(target.tenant, target.cif);
    return (await this.overrides.get(id, () => this.read(id, target.cif)))[scope] ?? this.defaultEnvironment;
  }

  private async read(id: string, cif: string): Promise<EnvironmentOverrides> {
    try {
      return await environmentOverridesOf(this.client, id);
    } catch (err) {
      // Nothing went to ANAF yet: the call may simply be retried.
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.NOT_SENT,
        message: `could not read which ANAF environment serves CIF ${cif}: ${(err as Error)?.message ?? String(err)}`,
      });
    }
  }
}

/** A lifecycle's own calls: the environment fixed at its start; workflows started before it was carried: the global default. */
export function fixedEnvironment(resolver: EnvironmentResolver, target: { anafEnvironment?: AnafApiEnvironment }): AnafApiEnvironment {
  return target.anafEnvironment ?? resolver.defaultEnvironment;
}

/** One client per environment, built once (the configured base URL with its /test|/prod swapped). */
export function clientsPerEnvironment<C>(apiBaseUrl: string, build: (baseUrl: string) => C): (env: AnafApiEnvironment) => C {
  const clients = { test: build(apiBaseUrlFor(apiBaseUrl, 'test')), prod: build(apiBaseUrlFor(apiBaseUrl, 'prod')) };
  return (env) => clients[env];
}
