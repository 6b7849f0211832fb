import type { OAuthScope } from '../config/config';

/**
 * Test or production per organization and scope (issue 16 item 5). ANAF serves e-Factura and
 * e-Transport under `api.anaf.ro/test/…` and `api.anaf.ro/prod/…` with the same tokens; an
 * organization may send one scope to the other prefix than the global ANAF_ENV. validare and
 * transformare exist under /prod only and stay there (activities/efactura/anaf-efactura-client.ts).
 * No I/O here (the organization workflow imports it); the per-call lookup is activities/anaf/environments.ts.
 */

export const ANAF_API_ENVIRONMENTS = ['test', 'prod'] as const;
export type AnafApiEnvironment = (typeof ANAF_API_ENVIRONMENTS)[number];

/** An organization's overrides per scope; a scope absent uses the global default. */
export type EnvironmentOverrides = Partial<Record<OAuthScope, AnafApiEnvironment>>;

/** The organization workflow's memo key holding the overrides (written only by its environments Update). */
export const ENVIRONMENTS_MEMO = 'anafEnvironments';

/** The global default: the prefix ANAF_API_BASE_URL ends with (the sandbox's default is /test). */
export function defaultApiEnvironment(apiBaseUrl: string): AnafApiEnvironment {
  return /\/prod\/*$/.test(apiBaseUrl) ? 'prod' : 'test';
}

/**
 * Whether the base URL ends in /test or /prod, so that an organization can be sent to the other one. A
 * proxy's URL (neither) has one environment, and which of ANAF's it reaches is not known here.
 */
export function hasApiEnvironments(apiBaseUrl: string): boolean {
  return /\/(test|prod)\/*$/.test(apiBaseUrl);
}

/**
 * The base URL of `env`: the configured one with its last /test or /prod segment swapped. A base
 * URL without such a segment (a proxy in front of ANAF) has one environment only and is kept.
 */
export function apiBaseUrlFor(apiBaseUrl: string, env: AnafApiEnvironment): string {
  return apiBaseUrl.replace(/\/+$/, '').replace(/\/(test|prod)$/, `/${env}`);
}

export function readEnvironmentOverrides(memo: Record<string, unknown>): EnvironmentOverrides {
  const raw = memo[ENVIRONMENTS_MEMO];
  if (!raw || typeof raw !== 'object') return {};
  const out: EnvironmentOverrides = {};
  for (const [scope, env] of Object.entries(raw as Record<string, unknown>)) {
    if ((scope === 'EFACTURA' || scope === 'ETRANSPORT') && (env === 'test' || env === 'prod')) out[scope] = env;
  }
  return out;
}
