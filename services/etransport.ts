/* eslint-disable @typescript-eslint/no-require-imports -- layer code is loaded on demand: see types.ts */
import type { EtransportOptions } from '../sandbox/etransport';
import type { AnafServiceDescriptor } from './types';

/** e-Transport: a declaration lives as long as its UIT (notification, follow-ups), plus ANAF's lista and info. */
export const etransport: AnafServiceDescriptor = {
  name: 'etransport',
  searchAttributeValues: ['etransport'],
  configSection: 'etransport',
  workflows: ['etransportDeclaration', 'etransportLookup'],
  activities: (deps) => {
    const { createEtransportAnafActivities, createEtransportOrchestrationActivities } =
      require('../activities/etransport') as typeof import('../activities/etransport');
    return { orchestration: createEtransportOrchestrationActivities(deps), anafCalls: createEtransportAnafActivities(deps) };
  },
  api: () => [(require('../api/etransport-routes') as typeof import('../api/etransport-routes')).mountEtransportRoutes],
  sandbox: async (ctx, options) => {
    const { etransportModule } = require('../sandbox/etransport') as typeof import('../sandbox/etransport');
    let service: unknown;
    const module = etransportModule(options as Partial<EtransportOptions> | undefined, (s) => (service = s))(ctx);
    return { module, service };
  },
};
