/* eslint-disable @typescript-eslint/no-require-imports -- layer code is loaded on demand: see types.ts */
import type { BanciwsSandboxOptions } from '../sandbox/banciws';
import type { AnafServiceDescriptor } from './types';

/** BANCIWS (financiart.anaf.ro, mTLS behind F5): reports upload → stareMesaj → descarcare, the inbox per institution. */
export const banciws: AnafServiceDescriptor = {
  name: 'banciws',
  searchAttributeValues: ['banciws'],
  configSection: 'banciws',
  workflows: ['banciwsMessage', 'banciwsInbox', 'banciwsInboxItem', 'banciwsUploadTurns'],
  activities: ({ config, blobs, logger }) => {
    const { createBanciwsActivities } = require('../activities/banciws') as typeof import('../activities/banciws');
    return { banciwsCalls: createBanciwsActivities({ config, blobs, logger }) };
  },
  api: () => [(require('../api/banciws-routes') as typeof import('../api/banciws-routes')).mountBanciwsRoutes],
  // Its own HTTPS listener (the F5 front with client certificates), started only when asked for.
  sandbox: async (ctx, options, listen) => {
    if (!options) return undefined;
    const { startBanciwsSandbox } = require('../sandbox/banciws') as typeof import('../sandbox/banciws');
    const running = await startBanciwsSandbox(ctx, {
      ...(listen.host ? { host: listen.host } : {}),
      ...(options as Partial<BanciwsSandboxOptions>),
    });
    return {
      module: { name: 'banciws', admin: (router) => router.use(running.adminRouter), routes: () => undefined },
      service: running,
      close: () => running.close(),
    };
  },
};
