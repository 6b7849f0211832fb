/* eslint-disable @typescript-eslint/no-require-imports -- layer code is loaded on demand: see types.ts */
import type { AnafServiceDescriptor } from './types';

/** Can the worker reach ANAF's hosts? The smallest service, and the template for a new one. */
export const connectivity: AnafServiceDescriptor = {
  name: 'connectivity',
  searchAttributeValues: ['system'],
  workflows: ['connectivityCheck'],
  activities: ({ config }) => {
    const { createConnectivityActivities } = require('../activities/connectivity') as typeof import('../activities/connectivity');
    return { anafCalls: createConnectivityActivities(config) };
  },
  api: () => [(require('../api/connectivity-routes') as typeof import('../api/connectivity-routes')).mountConnectivityRoutes],
};
