import { randomBytes } from 'node:crypto';
import type { Request, Router } from 'express';
import type { SandboxContext } from '../module';
import { authenticateFormClient } from './client-auth';
import { invalidRequest, noStore, singleParam } from './errors';
import { REVOKE_PATH } from './paths';
import { oauthForm, oauthHandler } from './token-endpoint';

/**
 * ANAF's revoke, in the one form its procedure gives: the token to revoke as
 * `Authorization: Bearer <token>`, and a form with client_id, client_secret and either
 * access_token=<token> or refresh_token=<token> (the same token). RFC 7009's
 * `token`/`token_type_hint` and Basic client authentication are not that form: refused, so a
 * client that sends them fails here as it would at ANAF, not in production.
 */
function tokenToRevoke(req: Request): string {
  const body: unknown = req.body;
  if (singleParam(body, 'token') !== undefined || singleParam(body, 'token_type_hint') !== undefined) {
    throw invalidRequest('send the token as access_token=<token> or refresh_token=<token>, not token/token_type_hint');
  }
  const access = singleParam(body, 'access_token');
  const refresh = singleParam(body, 'refresh_token');
  if ((access === undefined) === (refresh === undefined)) throw invalidRequest('exactly one of access_token and refresh_token is required');
  const token = (access ?? refresh) as string;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer === undefined) throw invalidRequest('the token to revoke is also sent as Authorization: Bearer <token>');
  if (bearer !== token) throw invalidRequest('the Bearer token and the token in the form differ');
  return token;
}

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
      const client = authenticateFormClient(req.body, idp);
      // Either token ends the whole grant (the access token dies with its refresh token).
      await idp.revoke(client, tokenToRevoke(req));
      res.status(200).end();
    }),
  );
}
