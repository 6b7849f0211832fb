import type dns from 'node:dns';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Agent, request } from 'undici';
import type { AppConfig } from '../../lib/config/config';
import { checkWebhookUrl, publicOnlyLookup, WebhookTargetError } from '../../lib/webhooks/webhook-target';
import { signWebhook, WebhookSecretStore } from '../../lib/webhooks/webhook-secrets';
import { TENANT_PATTERN } from '../../lib/temporal/workflow-ids';

export interface WebhookDelivery {
  url: string;
  event: string;
  /** Stable across retries: receivers deduplicate on it. */
  deliveryId: string;
  payload: unknown;
}

export const SIGNATURE_HEADER = 'x-anaf-flow-signature';
/** Which secrets signed it (`<tenant>.<generation>`, in the order of the v1 entries): tells a receiver which one to expect. */
export const SIGNATURE_KEYS_HEADER = 'x-anaf-flow-signature-keys';

/** `resolve`: the DNS resolver behind the address check (the system's; tests inject their own). */
export function createWebhookActivities(config: Pick<AppConfig, 'webhooks' | 'dataDir'>, resolve?: typeof dns.lookup) {
  const secrets = config.webhooks.secret
    ? new WebhookSecretStore(config.dataDir, config.webhooks.secret, config.webhooks.secretOverlapMs)
    : undefined;
  const agent = new Agent({ connect: { timeout: 10_000, lookup: publicOnlyLookup(config.webhooks.allowPrivateTargets, resolve) } });
  return {
    /** Retried by Temporal (durably, for days) until the receiver answers 2xx. */
    async deliverWebhook(delivery: WebhookDelivery): Promise<{ status: number; attempt: number }> {
      if (!secrets)
        throw ApplicationFailure.create({ type: 'WebhooksNotConfigured', message: 'WEBHOOK_SECRET is not set', nonRetryable: true });
      // Every workflow that sends webhooks has an id `<tenant>/…`: the tenant's own secret signs.
      const tenant = Context.current().info.workflowExecution?.workflowId.split('/')[0] ?? '';
      if (!TENANT_PATTERN.test(tenant))
        throw ApplicationFailure.create({ type: 'WebhookTenantUnknown', message: 'no tenant in the workflow id', nonRetryable: true });
      const keys = secrets.signingKeys(tenant);
      try {
        checkWebhookUrl(delivery.url, config.webhooks.allowPrivateTargets);
      } catch (err) {
        throw ApplicationFailure.create({ type: 'WebhookTargetRefused', message: (err as Error).message, nonRetryable: true });
      }
      const body = JSON.stringify({ event: delivery.event, deliveryId: delivery.deliveryId, data: delivery.payload });
      const attempt = Context.current().info.attempt;
      let status: number;
      try {
        const res = await request(delivery.url, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'anaf-flow-webhooks',
            'x-anaf-flow-event': delivery.event,
            'x-anaf-flow-delivery': delivery.deliveryId,
            [SIGNATURE_HEADER]: signWebhook(keys, body, Math.floor(Date.now() / 1000)),
            [SIGNATURE_KEYS_HEADER]: keys.map((k) => k.id).join(','),
          },
          body,
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
          // undici's request() follows no redirects: a receiver cannot bounce us elsewhere.
        });
        status = res.statusCode;
        await res.body.dump();
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (err instanceof WebhookTargetError || cause instanceof WebhookTargetError) {
          throw ApplicationFailure.create({ type: 'WebhookTargetRefused', message: ((cause as Error) ?? err).message, nonRetryable: true });
        }
        throw ApplicationFailure.create({ type: 'WebhookUnreachable', message: `webhook ${delivery.event}: ${(err as Error).message}` });
      }
      if (status < 200 || status >= 300) {
        throw ApplicationFailure.create({ type: 'WebhookRejected', message: `webhook ${delivery.event}: receiver answered ${status}` });
      }
      return { status, attempt };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
