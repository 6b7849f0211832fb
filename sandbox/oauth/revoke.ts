import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import type { SandboxContext } from '../module';
import { authenticateClient } from './client-auth';
import { noStore, singleParam } from './errors';
import { REVOKE_PATH } from './paths';
import { oauthForm, oauthHandler } from './token-endpoint';

export function mountRevoke(router: Router, { idp, state }: SandboxContext): void {
  router.post(
    REVOKE_PATH,
    oauthForm(state),
    oauthHandler(state, async (req, res) => {
      if (idp.options.revokeRedirectsToGateway) {
        // ANAF's F5 gateway has been seen answering machine clients' revoke like this:
        // a new APM session and a hop to /my.policy; the IdP never sees the request.
        state.counters.oauth.gatewayRedirects += 1;
        res
          .set('server', 'BigIP')
          .set('connection', 'close')
          .append('set-cookie', `LastMRH_Session=${randomBytes(4).toString('hex')};path=/;secure`)
          .append('set-cookie', `MRHSession=${randomBytes(16).toString('hex')};path=/;secure`)
          .redirect(302, '/my.policy');
        return;
      }
      noStore(res);
      const client = authenticateClient(req, idp);
      // token_type_hint only speeds up a lookup; the store finds either kind, so it is read and ignored.
      await idp.revoke(client, singleParam(req.body, 'token'));
      res.status(200).end();
    }),
  );
}
