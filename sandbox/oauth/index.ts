import type { SandboxModuleFactory } from '../module';
import { mountAuthorize } from './authorize';
import { oauthOptionsPatchSchema } from './options';
import { JWKS_ADMIN_PATH } from './paths';
import { mountRevoke } from './revoke';
import { mountTokenEndpoint } from './token-endpoint';

export { bearerOf, requireBearer } from './require-bearer';
export type { BearerIdentity, TokenInspection, TokenResponse } from './idp';
export { OAuthIdp } from './idp';
export * from './options';
export * from './paths';

/** The simulated logincert.anaf.ro, plus its public key for tests at /__sandbox/oauth/jwks. */
export const oauthModule: SandboxModuleFactory = (ctx) => ({
  name: 'oauth',
  admin(router) {
    router.get(JWKS_ADMIN_PATH, (_req, res) => {
      res.json(ctx.idp.jwks);
    });
    router.get('/oauth/options', (_req, res) => {
      const { signingKeyPem: _omitted, ...options } = ctx.idp.options;
      res.json(options);
    });
    /** Cross-process tests (npm run dev) flip behaviours here, e.g. { "revokeRedirectsToGateway": true }. */
    router.patch('/oauth/options', (req, res) => {
      const parsed = oauthOptionsPatchSchema.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).json({ error: 'invalid_options', issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
        return;
      }
      try {
        const { signingKeyPem: _omitted, ...options } = ctx.idp.configure(parsed.data);
        res.json(options);
      } catch (err) {
        res.status(400).json({ error: 'invalid_options', message: (err as Error).message });
      }
    });
  },
  routes(router) {
    mountAuthorize(router, ctx);
    mountTokenEndpoint(router, ctx);
    mountRevoke(router, ctx);
  },
});
