import { ApplicationFailure } from '@temporalio/activity';
import {
  type AnafApiEnvironment,
  apiBaseUrlFor,
  defaultApiEnvironment,
  type EnvironmentOverrides,
  readEnvironmentOverrides,
} from '../../lib/anaf/anaf-environments';
import type { OAuthScope } from '../../lib/config/config';
import type { OrganizationMemos } from '../../services/clients/organization-memo';
import { FAILURE_TYPES } from './failures';

/**
 * The environment of each ANAF call for (tenant, CIF, scope), decided per call from the
 * organization's memo, read through the worker's shared OrganizationMemos (a change applies
 * within its cache time). Calls belonging to an upload's lifecycle do not ask: they carry the
 * environment fixed at its start.
 */
export class EnvironmentResolver {
  readonly defaultEnvironment: AnafApiEnvironment;

  constructor(
    private readonly organizations: OrganizationMemos,
    apiBaseUrl: string,
  ) {
    this.defaultEnvironment = defaultApiEnvironment(apiBaseUrl);
  }

  async environment(target: { tenant: string; cif: string }, scope: OAuthScope): Promise<AnafApiEnvironment> {
    return (await this.overrides(target.tenant, target.cif))[scope] ?? this.defaultEnvironment;
  }

  private async overrides(tenant: string, cif: string): Promise<EnvironmentOverrides> {
    try {
      return readEnvironmentOverrides(await this.organizations.of(tenant, cif));
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
