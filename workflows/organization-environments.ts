import { defineQuery, defineUpdate, setHandler, upsertMemo } from '@temporalio/workflow';
import { ENVIRONMENTS_MEMO, type AnafApiEnvironment, type EnvironmentOverrides } from '../lib/anaf/anaf-environments';
import type { OAuthScope } from './oauth/types';

/**
 * An organization's ANAF environment per scope (issue 16 item 5): test or prod instead of the
 * global ANAF_ENV. Kept by the organization workflow and published in its memo, which the
 * activities and the API read with a describe. Only these new handlers write it, so stored
 * histories replay unchanged.
 */

/** A value sets the scope's environment; null takes it back to the global default; absent: unchanged. */
export type EnvironmentChanges = Partial<Record<OAuthScope, AnafApiEnvironment | null>>;

/** Returns the overrides after the change. */
export const setEnvironmentsUpdate = defineUpdate<EnvironmentOverrides, [EnvironmentChanges]>('setEnvironments');
export const environmentsQuery = defineQuery<EnvironmentOverrides>('environments');

const SCOPES: readonly string[] = ['EFACTURA', 'ETRANSPORT'];
const VALUES: readonly unknown[] = ['test', 'prod', null];

export function registerEnvironmentHandlers(deleted: () => boolean): void {
  const overrides: EnvironmentOverrides = {};
  setHandler(environmentsQuery, () => ({ ...overrides }));
  setHandler(
    setEnvironmentsUpdate,
    (changes) => {
      for (const [scope, env] of Object.entries(changes) as Array<[OAuthScope, AnafApiEnvironment | null]>) {
        if (env === null) delete overrides[scope];
        else overrides[scope] = env;
      }
      upsertMemo({ [ENVIRONMENTS_MEMO]: { ...overrides } });
      return { ...overrides };
    },
    {
      validator: (changes) => {
        if (deleted()) throw new Error('organization deleted');
        // The API checks first (422); a caller of the Update straight from Temporal gets refused too.
        for (const [scope, env] of Object.entries(changes ?? {})) {
          if (!SCOPES.includes(scope) || !VALUES.includes(env)) throw new Error(`not an environment change: ${scope}=${String(env)}`);
        }
      },
    },
  );
}
