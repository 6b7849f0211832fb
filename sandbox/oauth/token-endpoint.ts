import express, { type Request, type RequestHandler, type Router } from 'express';
import type { SandboxContext } from '../module';
import type { SandboxState } from '../state';
import { authenticateClient } from './client-auth';
import { invalidRequest, noStore, OAuthError, sendOAuthError, singleParam } from './errors';
import { TOKEN_PATH } from './paths';

/** The token and revoke endpoints take forms only; a malformed or non-form body is an OAuth invalid_request, not an HTML 400. */
export function oauthForm(state: SandboxState): RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: '64kb' });
  return (req, res, next) => {
    if (!req.is('application/x-www-form-urlencoded')) {
      return sendOAuthError(res, invalidRequest('the body must be application/x-www-form-urlencoded'), state);
    }
    parse(req, res, (err?: unknown) => (err ? sendOAuthError(res, invalidRequest('the body is not a valid form'), state) : next()));
  };
}

/** Runs an OAuth handler, turning OAuthError into its JSON answer. */
export function oauthHandler(state: SandboxState, handler: (req: Request, res: express.Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(res, err, state);
      throw err;
    }
  };
}

export function mountTokenEndpoint(router: Router, { idp, state }: SandboxContext): void {
  router.post(
    TOKEN_PATH,
    oauthForm(state),
    oauthHandler(state, async (req, res) => {
      noStore(res);
      const client = authenticateClient(req, idp);
      const body: unknown = req.body;
      const grantType = singleParam(body, 'grant_type');
      const tokenContentType = singleParam(body, 'token_content_type');
      if (!grantType) throw invalidRequest('grant_type is required');
      if (grantType === 'authorization_code') {
        const answer = await idp.exchangeCode(client, {
          code: singleParam(body, 'code'),
          redirectUri: singleParam(body, 'redirect_uri'),
          tokenContentType,
        });
        res.json(answer);
        return;
      }
      if (grantType === 'refresh_token') {
        res.json(await idp.refresh(client, { refreshToken: singleParam(body, 'refresh_token'), tokenContentType }));
        return;
      }
      throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported; use authorization_code or refresh_token`);
    }),
  );
}
