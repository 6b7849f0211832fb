import express, { type Response, type Router } from 'express';
import type { SandboxContext } from '../module';
import { renderAuthorizeError, renderAuthorizePage } from './authorize-page';
import { OAuthError, singleParam } from './errors';
import type { AuthorizeOutcome } from './idp';
import { AUTHORIZE_PATH, DECISION_PATH } from './paths';

const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'token_content_type', 'cert_serial'] as const;

function send(res: Response, outcome: AuthorizeOutcome): void {
  // The page carries a one-time request id and the answer a code: neither may be cached.
  res.set('cache-control', 'no-store');
  if (outcome.kind === 'redirect') return res.redirect(302, outcome.location);
  if (outcome.kind === 'error-page') {
    res.status(outcome.status).type('html').send(renderAuthorizeError(outcome.message));
    return;
  }
  res
    .status(200)
    .type('html')
    .send(renderAuthorizePage(outcome.pending, outcome.client, outcome.certificate));
}

function errorPage(res: Response, err: unknown): void {
  if (!(err instanceof OAuthError)) throw err;
  send(res, { kind: 'error-page', status: 400, message: err.description });
}

export function mountAuthorize(router: Router, { idp }: SandboxContext): void {
  router.get(AUTHORIZE_PATH, (req, res) => {
    try {
      const query = Object.fromEntries(AUTHORIZE_PARAMS.map((name) => [name, singleParam(req.query, name)]));
      send(res, idp.beginAuthorization(query));
    } catch (err) {
      errorPage(res, err);
    }
  });

  router.post(DECISION_PATH, express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    try {
      const body: unknown = req.body;
      send(res, idp.decide(singleParam(body, 'request'), singleParam(body, 'decision'), singleParam(body, 'cert_serial')));
    } catch (err) {
      errorPage(res, err);
    }
  });
}
