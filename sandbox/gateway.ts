import { gatewayLogonPage } from './gateway-pages';
import type { SandboxModuleFactory } from './module';

/**
 * The F5 gateway's /my.policy, where a redirected revoke (revokeRedirectsToGateway)
 * lands. A machine client following the redirect gets the APM page, not JSON: the
 * situation it must recognise. The certificate renegotiation itself is not simulated.
 */
export const gatewayModule: SandboxModuleFactory = () => ({
  name: 'gateway',
  routes(router) {
    router.get('/my.policy', (_req, res) => {
      res.status(200).set({ server: 'BigIP', 'cache-control': 'no-cache' }).type('html').send(gatewayLogonPage());
    });
  },
});
