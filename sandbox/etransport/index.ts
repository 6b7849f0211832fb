import type { Request } from 'express';
import type { SandboxModuleFactory } from '../module';
import { bearerOf, requireBearer } from '../oauth/require-bearer';
import { buildEtransportRouter, type CallerRights } from './router';
import { EtransportState, resolveEtransportOptions, type EtransportOptions } from './state';

/**
 * The simulated e-Transport service (api.anaf.ro/{test,prod}/ETRANSPORT/ws/v1/…): upload
 * (v1 and v2 paths), stareMesaj, lista and info, gated by the sandbox IdP, rate-limited
 * per minute, faultable like every sandbox route. See router.ts for the wire shapes.
 */

export { DEFAULT_ETRANSPORT_OPTIONS, EtransportState, type EtransportOptions, type EtransportUpload, type Notification } from './state';
export { MARKER_NOK, MARKER_XML_ERRORS, NOK_MESSAGE } from './router';

export interface EtransportService {
  state: EtransportState;
  options: EtransportOptions;
}

function identityOf(req: Request): CallerRights | undefined {
  try {
    const identity = bearerOf(req);
    return { subject: identity.subject, ...(identity.certificate.cifs ? { cifs: identity.certificate.cifs } : {}) };
  } catch {
    return undefined;
  }
}

export function etransportModule(
  options: Partial<EtransportOptions> = {},
  onCreate?: (service: EtransportService) => void,
): SandboxModuleFactory {
  return (ctx) => {
    const resolved = resolveEtransportOptions(options);
    const state = new EtransportState(resolved, () => ctx.clock.now());
    ctx.state.onReset(() => state.reset());
    onCreate?.({ state, options: resolved });
    const router = buildEtransportRouter({ requireBearer: requireBearer(ctx), now: () => ctx.clock.now(), state, identityOf });
    return {
      name: 'etransport',
      admin(adminRouter) {
        adminRouter.get('/etransport/state', (_req, res) => {
          res.json({
            counters: state.counters,
            uploads: state.uploads().map(({ xml, ...u }) => ({ ...u, bytes: xml.length })),
            notifications: state.allNotifications(),
          });
        });
      },
      routes(r) {
        r.use(router);
      },
    };
  };
}
