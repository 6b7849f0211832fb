import { ApplicationFailure } from '@temporalio/activity';
import type { AuthorizationKey } from '../../workflows/oauth/types';
import { ANAF_CALL_TOKEN_CACHE_MS, type TokenCallResult, TokenProvider } from '../oauth/token-provider';
import { EfacturaClient } from './anaf-efactura-client';
import type { EfacturaActivityDeps, EfacturaTarget } from './index';

/** The e-Factura client and a token-carrying call, built once per worker for every e-Factura activity. */
export function efacturaCalls(deps: EfacturaActivityDeps) {
  const anaf = new EfacturaClient({ apiBaseUrl: deps.config.anaf.apiBaseUrl, quotas: deps.quotas });
  const tokens = new TokenProvider(deps.client, deps.sealer, { cacheMs: ANAF_CALL_TOKEN_CACHE_MS });
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

  return { anaf, withToken };
}
