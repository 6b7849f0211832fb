import type { Router } from 'express';
import { WebhookSecretStore } from '../lib/webhooks/webhook-secrets';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, routeDefiner } from './define-route';
import { ApiError } from './errors';
import { z } from './zod';

const PreviousSecret = z.object({
  id: z.string(),
  validUntil: z.string().openapi({ description: 'Until then deliveries carry a second v1 signature made with it' }),
});

const WebhookSecretInfo = z
  .object({
    id: z.string().openapi({ example: 'acme.2', description: '`<tenant>.<generation>`; also in x-anaf-flow-signature-keys' }),
    createdAt: z.string(),
    previous: PreviousSecret.optional(),
  })
  .openapi('WebhookSecretInfo');

const IssuedWebhookSecret = WebhookSecretInfo.extend({
  secret: z.string().openapi({ description: 'Shown this once: store it where the webhook receiver verifies signatures' }),
}).openapi('IssuedWebhookSecret');

function info(tenant: string, state: ReturnType<WebhookSecretStore['state']>): z.infer<typeof WebhookSecretInfo> {
  return {
    id: WebhookSecretStore.keyId(tenant, state.generation),
    createdAt: state.createdAt!,
    ...(state.previous
      ? { previous: { id: WebhookSecretStore.keyId(tenant, state.previous.generation), validUntil: state.previous.validUntil } }
      : {}),
  };
}

/**
 * The tenant's own webhook secret (lib/webhooks/webhook-secrets.ts): issued or rotated by POST, which
 * is the only answer that ever holds it; GET tells which one is current.
 */
export function mountWebhookSecretRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['Webhooks']);
  const store = () => {
    if (!ctx.config.webhooks.secret) throw new ApiError(409, 'WEBHOOKS_NOT_CONFIGURED', 'webhooks need WEBHOOK_SECRET on the server');
    return new WebhookSecretStore(ctx.config.dataDir, ctx.config.webhooks.secret, ctx.config.webhooks.secretOverlapMs);
  };

  route(
    {
      method: 'get',
      permission: 'read',
      path: '/v1/webhook-secret',
      summary: "The tenant's current webhook secret: its id and creation time, never the secret",
      responses: { 200: jsonResponse('Current secret', WebhookSecretInfo) },
      errors: [404, 409],
    },
    (_input, _req, res) => {
      const tenant = tenantOf(res);
      const state = store().state(tenant);
      if (!state.createdAt)
        throw new ApiError(404, 'WEBHOOK_SECRET_NOT_ISSUED', 'no webhook secret issued yet: POST /v1/webhook-secret/rotate');
      res.json(info(tenant, state));
    },
  );

  route(
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/webhook-secret/rotate',
      summary: 'Issue (first call) or rotate the webhook secret; the answer shows it once',
      description:
        'Deliveries are signed with the new secret at once and, for WEBHOOK_SECRET_OVERLAP_HOURS, with the previous one as well ' +
        '(a second `v1=` in x-anaf-flow-signature), so receivers can switch without losing a delivery.',
      responses: { 201: jsonResponse('The new secret, shown once', IssuedWebhookSecret) },
      errors: [409],
    },
    (_input, _req, res) => {
      const tenant = tenantOf(res);
      const { state, secret } = store().rotate(tenant);
      res
        .status(201)
        .set('Cache-Control', 'no-store')
        .json({ ...info(tenant, state), secret });
    },
  );
}
