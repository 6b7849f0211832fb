import { checkWebhookUrl, WebhookTargetError } from '../lib/webhook-target';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/** A caller's `callbackUrl`, checked before any workflow is started with it (SSRF guard, signing key present). */
export function checkCallbackUrl(ctx: ApiContext, url: string | undefined): void {
  if (!url) return;
  if (!ctx.config.webhooks.secret) throw new ApiError(400, 'WEBHOOKS_NOT_CONFIGURED', 'callbackUrl needs WEBHOOK_SECRET on the server');
  try {
    checkWebhookUrl(url, ctx.config.webhooks.allowPrivateTargets);
  } catch (err) {
    if (err instanceof WebhookTargetError) throw new ApiError(400, 'INVALID_CALLBACK_URL', err.message);
    throw err;
  }
}
