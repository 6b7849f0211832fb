import type { Request, Response } from 'express';
import express from 'express';
import { checkWebhookUrl, WebhookTargetError } from '../lib/webhooks/webhook-target';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/** HTTP body plumbing shared by routes that take documents rather than JSON. */

/** Content types a document (invoice, declaration) may be sent as; anything else is JSON or a 415. */
export const XML_TYPES = ['application/xml', 'text/xml', 'text/plain', 'application/octet-stream'];

/**
 * The raw body of a request whose content type `types` accepts (all by default), at most
 * `maxBytes`; a larger one is refused with `tooLarge()` before it is buffered.
 */
export function readRawBody(
  req: Request,
  res: Response,
  maxBytes: number,
  tooLarge: () => ApiError,
  types: string[] | (() => boolean) = () => true,
): Promise<Buffer> {
  const parse = express.raw({ type: types, limit: maxBytes });
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

/** The raw XML body (see readRawBody). */
export function readXmlBody(req: Request, res: Response, maxBytes: number, tooLarge: () => ApiError): Promise<Buffer> {
  return readRawBody(req, res, maxBytes, tooLarge, XML_TYPES);
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
