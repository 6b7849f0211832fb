import { banciws } from './banciws';
import { connectivity } from './connectivity';
import { efactura } from './efactura';
import { etransport } from './etransport';
import { oauth } from './oauth';
import type { AnafServiceDescriptor } from './types';

export type { AnafServiceDescriptor, SandboxPart, ServiceActivities, ServiceActivityDeps } from './types';

/**
 * The ANAF APIs anaf-flow speaks, in the order their routes and sandbox modules are mounted.
 * A new service is a folder per layer plus one entry here (docs/adding-a-service.md).
 */
export const ANAF_SERVICES: readonly AnafServiceDescriptor[] = [connectivity, oauth, efactura, etransport, banciws];
