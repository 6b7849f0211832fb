import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Router } from 'express';
import { setWebhookUpdate } from '../workflows/oauth/definitions';
import { tenantOf } from './auth';
import { AuthorizationDetailSchema, authorizationWorkflowFor, detail } from './authorization-routes';
import type { ApiContext } from './context';
import { defineRoute, jsonResponse } from './define-route';
import { ApiError } from './errors';
import { checkCallbackUrl } from './xml-body';
import { z } from './zod';

/**
 * PATCH /v1/authorizations/{id} {webhookUrl | null}: where the authorization's events are pushed
 * (workflows/oauth/events.ts). The URL passes the same SSRF guard as every webhook URL, here and
 * again at each delivery.
 */

const Params = z.object({ id: z.string().min(3).max(64) });
const Body = z
  .object({
    webhookUrl: z
      .string()
      .max(2000)
      .nullable()
      .openapi({ format: 'uri', description: 'Where events go from now on; null stops them (pending ones are dropped)' }),
  })
  .strict()
  .openapi('SetAuthorizationWebhook');

export function mountAuthorizationWebhookRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'patch',
      permission: 'submit',
      path: '/v1/authorizations/{id}',
      summary: "Set or remove the authorization's webhook URL (its signed events)",
      description:
        '400 INVALID_CALLBACK_URL / WEBHOOKS_NOT_CONFIGURED as for any callbackUrl; 404 for an id not of this tenant; 409 AUTHORIZATION_REVOKED once revoked.',
      tags: ['OAuth'],
      request: { params: Params, body: Body },
      responses: { 200: jsonResponse('The authorization', AuthorizationDetailSchema) },
      errors: [400, 404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      if (body.webhookUrl !== null) checkCallbackUrl(ctx, body.webhookUrl);
      const handle = ctx.client.workflow.getHandle(authorizationWorkflowFor(tenant, params.id));
      try {
        res.json(detail(await handle.executeUpdate(setWebhookUpdate, { args: [{ webhookUrl: body.webhookUrl }] })));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new ApiError(404, 'AUTHORIZATION_NOT_FOUND', `No authorization ${params.id}`);
        if (err instanceof WorkflowUpdateFailedError) throw new ApiError(409, 'AUTHORIZATION_REVOKED', err.cause?.message ?? err.message);
        throw err;
      }
    },
  );
}
