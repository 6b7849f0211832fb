/* eslint-disable @typescript-eslint/no-require-imports -- layer code is loaded on demand: see types.ts */
import type { EfacturaOptions } from '../sandbox/efactura';
import type { AnafServiceDescriptor } from './types';

/** e-Factura: submissions (upload → stareMesaj → descarcare), ANAF's reads, the inbox sync. */
export const efactura: AnafServiceDescriptor = {
  name: 'efactura',
  searchAttributeValues: ['efactura', 'efactura-read', 'efactura-inbox', 'efactura-inbox-sync'],
  configSection: 'efactura',
  workflows: [
    'efacturaSubmission',
    'efacturaMessages',
    'efacturaPdf',
    'efacturaValidation',
    'efacturaInboxItem',
    'efacturaInboxSync',
    'efacturaSignature',
  ],
  activities: (deps) => {
    const { createEfacturaAnafActivities } = require('../activities/efactura') as typeof import('../activities/efactura');
    const { createEfacturaReadActivities } = require('../activities/efactura/reads') as typeof import('../activities/efactura/reads');
    return { anafCalls: { ...createEfacturaAnafActivities(deps), ...createEfacturaReadActivities(deps) } };
  },
  api: () => [
    (require('../api/efactura-routes') as typeof import('../api/efactura-routes')).mountEfacturaRoutes,
    (require('../api/efactura-read-routes') as typeof import('../api/efactura-read-routes')).mountEfacturaReadRoutes,
    (require('../api/efactura-inbox-routes') as typeof import('../api/efactura-inbox-routes')).mountEfacturaInboxRoutes,
  ],
  sandbox: async (ctx, options) => {
    const { efacturaModule } = require('../sandbox/efactura') as typeof import('../sandbox/efactura');
    let service: unknown;
    const module = efacturaModule(options as Partial<EfacturaOptions> | undefined, (s) => (service = s))(ctx);
    return { module, service };
  },
};
