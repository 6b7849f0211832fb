/* eslint-disable @typescript-eslint/no-require-imports -- layer code is loaded on demand: see types.ts */
import type { AnafServiceDescriptor } from './types';

/**
 * OAuth at logincert.anaf.ro: authorization requests, the token lifecycle per CIF and scope.
 * Its sandbox part (the IdP) is the sandbox's base, started before any service: every
 * simulated API checks bearers against it (sandbox/server.ts).
 */
export const oauth: AnafServiceDescriptor = {
  name: 'oauth',
  searchAttributeValues: ['oauth'],
  configSection: 'oauth',
  workflows: ['oauthAuthorization', 'oauthAuthorizationRequest', 'oauthRefreshSweep', 'oauthTest', 'oauthClientRegistry'],
  activities: (deps) => {
    const { createOAuthAnafActivities, createOAuthOrchestrationActivities } =
      require('../activities/oauth') as typeof import('../activities/oauth');
    return { orchestration: createOAuthOrchestrationActivities(deps), anafCalls: createOAuthAnafActivities(deps) };
  },
  api: () => [
    (require('../api/oauth-routes') as typeof import('../api/oauth-routes')).mountOAuthRoutes,
    (require('../api/oauth-callback-routes') as typeof import('../api/oauth-callback-routes')).mountOAuthCallbackRoutes,
    (require('../api/authorization-routes') as typeof import('../api/authorization-routes')).mountAuthorizationRoutes,
    (require('../api/authorization-webhook-routes') as typeof import('../api/authorization-webhook-routes'))
      .mountAuthorizationWebhookRoutes,
    (require('../api/authorization-request-routes') as typeof import('../api/authorization-request-routes'))
      .mountAuthorizationRequestRoutes,
  ],
};
