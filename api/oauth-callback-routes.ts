import { type WorkflowHandle, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Response, Router } from 'express';
import { parseState, sameStateHash, stateHash, stateOfLink, withState } from './oauth-requests';
import { TokenSealBox } from '../lib/crypto/token-seal';
import { authorizeUrlQuery, callbackUpdate, signInLinkQuery } from '../workflows/oauth/definitions';
import { authorizationRequestWorkflowId, type CallbackInput, type CallbackResult } from '../workflows/oauth/types';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { perIpRateLimit } from './rate-limit';
import { z } from './zod';

/** Per client IP, shared by /oauth/go and /oauth/callback. */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(res: Response, status: number, title: string, message: string): void {
  res
    .status(status)
    .type('html')
    // The page shows nothing secret, but the URL that led here carried a one-time code.
    .set('Cache-Control', 'no-store')
    .set('Referrer-Policy', 'no-referrer')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}</style></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`,
    );
}

/** Location only: Express's default body would repeat the URL (with the state in it) in the answer. */
function redirect(res: Response, url: string): void {
  res.set('Cache-Control', 'no-store').set('Referrer-Policy', 'no-referrer').status(302).location(url).end();
}

const USED_OR_EXPIRED = 'This authorization link was already used or has expired. Start a new authorization from your ERP.';

/** Why an update to the request workflow was refused, in words for the person in the browser. */
async function refusal(err: unknown, handle: WorkflowHandle): Promise<string | undefined> {
  if (err instanceof WorkflowNotFoundError) {
    // A finished request no longer takes updates; only a request that never existed is "unknown".
    const exists = await handle.describe().then(
      () => true,
      () => false,
    );
    return exists ? USED_OR_EXPIRED : 'This authorization link is unknown. Start a new authorization from your ERP.';
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const type = err.cause && 'type' in err.cause ? (err.cause as { type?: string }).type : undefined;
    if (type === 'StateAlreadyUsed') return 'This authorization link was already used. Start a new authorization from your ERP.';
    if (type === 'StateExpired') return 'This authorization link has expired. Start a new authorization from your ERP.';
    return 'This authorization link is not valid.';
  }
  // A completed workflow no longer accepts updates: the link was used or has expired.
  if (err instanceof Error && /already completed|workflow execution.*(completed|closed)/i.test(err.message)) return USED_OR_EXPIRED;
  return undefined;
}

/** ANAF's redirect as the request workflow takes it (ours at /oauth/callback, or an ERP's through finalize). */
export function callbackInput(
  sealer: TokenSealBox,
  r: { state: string; code?: string; error?: string; errorDescription?: string },
): CallbackInput {
  return {
    // A new request's state (with its secret part) enters Temporal only as its hash; a legacy one as before.
    ...(parseState(r.state)?.secret ? { stateHash: stateHash(r.state) } : { state: r.state }),
    // Sealed before it enters Temporal: a code is a credential for its 60 seconds.
    ...(r.code ? { sealedCode: sealer.seal(r.code) } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.errorDescription ? { errorDescription: r.errorDescription } : {}),
  };
}

/**
 * Where a short link forwards: a new request's link leads to its state (one-way), checked against the
 * hash the request keeps and added to ANAF's URL; a legacy link is its state, and the request keeps the URL.
 * null: used or expired; false: not this request's link.
 */
async function forwardUrl(handle: WorkflowHandle, token: string): Promise<string | null | false> {
  const state = stateOfLink(token);
  if (!state) return handle.query(authorizeUrlQuery);
  const link = await handle.query(signInLinkQuery);
  if (!link) return null;
  return sameStateHash(stateHash(state), link.stateHash) ? withState(link.url, state) : false;
}

const CallbackQuery = z.object({
  state: z.string().max(200).optional(),
  code: z.string().max(4000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

/**
 * Public routes the user's browser reaches: the short link that forwards to ANAF, and the
 * OAuth callback ANAF redirects to. No API key here; the unguessable `state` is what
 * finds (and authorizes) the waiting request, and it is accepted once.
 */
export function mountOAuthCallbackRoutes(router: Router, ctx: ApiContext): void {
  const sealer = new TokenSealBox(ctx.config.tokenSealing.publicKeys);
  // Public and each a Temporal call: a person clicks a link or comes back from ANAF a few times, a script guessing states many.
  const rateLimit = perIpRateLimit(ctx.config.oauth.browserRateLimit);

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'public',
      path: '/oauth/go/{state}',
      rateLimit,
      summary: 'Short authorization link: forwards the browser to ANAF',
      tags: ['OAuth callback'],
      request: { params: z.object({ state: z.string().max(200) }) },
      responses: { 302: { description: "Redirect to ANAF's authorize page" }, 400: { description: 'HTML error page' } },
    },
    async ({ params }, _req, res) => {
      const parsed = parseState(params.state);
      if (!parsed) return page(res, 400, 'Invalid link', 'This authorization link is not valid.');
      const handle = ctx.client.workflow.getHandle(authorizationRequestWorkflowId(parsed.tenant, parsed.requestId));
      try {
        const url = await forwardUrl(handle, params.state);
        if (url === false) return page(res, 400, 'Invalid link', 'This authorization link is not valid.');
        if (!url) return page(res, 410, 'Link no longer valid', 'This authorization link was already used or has expired.');
        redirect(res, url);
      } catch (err) {
        const why = await refusal(err, handle);
        if (!why) throw err;
        page(res, 404, 'Unknown link', why);
      }
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'public',
      path: '/oauth/callback',
      rateLimit,
      summary: 'OAuth callback from ANAF (code or error, with our state)',
      tags: ['OAuth callback'],
      request: { query: CallbackQuery },
      responses: {
        302: { description: 'Redirect to the return URL given with the request' },
        200: { description: 'HTML success page' },
        400: { description: 'HTML error page' },
      },
    },
    async ({ query }, _req, res) => {
      const parsed = query.state ? parseState(query.state) : undefined;
      if (!parsed || !query.state) return page(res, 400, 'Authorization failed', 'The answer from ANAF carries no valid state.');
      if (!query.code && !query.error)
        return page(res, 400, 'Authorization failed', 'The answer from ANAF carries neither a code nor an error.');
      const handle = ctx.client.workflow.getHandle(authorizationRequestWorkflowId(parsed.tenant, parsed.requestId));
      let result: CallbackResult;
      try {
        result = await handle.executeUpdate(callbackUpdate, {
          args: [
            callbackInput(sealer, { state: query.state, code: query.code, error: query.error, errorDescription: query.error_description }),
          ],
        });
      } catch (err) {
        const why = await refusal(err, handle);
        if (!why) throw err;
        return page(res, 400, 'Authorization failed', why);
      }
      if (result.returnUrl) {
        const target = new URL(result.returnUrl);
        target.searchParams.set('outcome', result.outcome);
        return redirect(res, target.toString());
      }
      if (result.outcome === 'AUTHORIZED') return page(res, 200, 'Authorization complete', `${result.message}. You can close this window.`);
      page(res, 400, result.outcome === 'DENIED' ? 'Authorization denied' : 'Authorization failed', result.message);
    },
  );
}
