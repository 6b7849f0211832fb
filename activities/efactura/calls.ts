import { ApplicationFailure } from '@temporalio/activity';
import type { AuthorizationKey } from '../../workflows/oauth/types';
import { clientsPerEnvironment, EnvironmentResolver, fixedEnvironment } from '../anaf/environments';
import { ANAF_CALL_TOKEN_CACHE_MS, type TokenCallResult, TokenProvider } from '../oauth/token-provider';
import { EfacturaClient } from './anaf-efactura-client';
import type { EfacturaActivityDeps, EfacturaTarget } from './deps';

/** The e-Factura client and a token-carrying call, built once per worker for every e-Factura activity. */
export function efacturaCalls(deps: EfacturaActivityDeps) {
  const anafIn = clientsPerEnvironment(
    deps.config.anaf.apiBaseUrl,
    (apiBaseUrl) => new EfacturaClient({ apiBaseUrl, quotas: deps.quotas }),
  );
  const environments = new EnvironmentResolver(deps.organizations, deps.config.anaf.apiBaseUrl);
  const tokens = new TokenProvider(deps.client, deps.sealer, { cacheMs: ANAF_CALL_TOKEN_CACHE_MS, organizations: deps.organizations });
  const keyOf = (t: EfacturaTarget): AuthorizationKey => ({ tenant: t.tenant, cif: t.cif, scope: 'EFACTURA' });

  /** Runs `call` with the organization's EFACTURA token; a token ANAF refuses even after a refresh is final. */
  async function withToken<T>(target: EfacturaTarget, operation: string, call: (token: string) => Promise<TokenCallResult<T>>): Promise<T> {
    const result = await tokens.withToken(keyOf(target), call);
    if (result.ok) return result.value;
    throw ApplicationFailure.create({
      type: 'AnafUnauthorized',
      message: `${operation}: ANAF rejected the token twice (HTTP ${result.status}) even after a refresh`,
      nonRetryable: true,
    });
  }

  return {
    /** The client of an upload's lifecycle: the environment it was sent to, whatever the organization says now. */
    lifecycleAnaf: (target: EfacturaTarget) => anafIn(fixedEnvironment(environments, target)),
    /** The client of a call outside a lifecycle: the organization's EFACTURA environment now. */
    currentAnaf: async (target: EfacturaTarget) => anafIn(await environments.environment(target, 'EFACTURA')),
    /** The organization's EFACTURA environment now (for a read whose results belong to it: the inbox's listing). */
    currentEnvironment: (target: EfacturaTarget) => environments.environment(target, 'EFACTURA'),
    anafIn,
    /** validare, transformare and validaresemnatura: the same URLs from either client (they live outside /test). */
    anyAnaf: anafIn(environments.defaultEnvironment),
    withToken,
  };
}
