import type { Request, Response } from 'express';
import express from 'express';
import { checkWebhookUrl, WebhookTargetError } from '../lib/webhook-target';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/** Content types a document (invoice, declaration) may be sent as; anything else is JSON or a 415. */
export const XML_TYPES = ['application/xml', 'text/xml', 'text/plain', 'application/octet-stream'];

/** The raw XML body, at most `maxBytes`; a larger one is refused with `tooLarge()` before it is buffered. */
export function readXmlBody(req: Request, res: Response, maxBytes: number, tooLarge: () => ApiError): Promise<Buffer> {
  const parse = express.raw({ type: XML_TYPES, limit: maxBytes });
  return new Promise((resolve, reject) => {
    parse(req, res, (err?: unknown) => {
      if (err) {
        if ((err as { type?: string }).type === 'entity.too.large') reject(tooLarge());
        else reject(err);
        return;
      }
      resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    });
  });
}

/** A callbackUrl is accepted only when webhooks can be signed and the target passes the SSRF guard. */
export function checkCallbackUrl(ctx: Pick<ApiContext, 'config'>, url: string | undefined): void {
  if (!url) return;
  if (!ctx.config.webhooks.secret) throw new ApiError(400, 'WEBHOOKS_NOT_CONFIGURED', 'callbackUrl needs WEBHOOK_SECRET on the server');
  try {
    checkWebhookUrl(url, ctx.config.webhooks.allowPrivateTargets);
  } catch (err) {
    if (err instanceof WebhookTargetError) throw new ApiError(400, 'INVALID_CALLBACK_URL', err.message);
    throw err;
  }
}
