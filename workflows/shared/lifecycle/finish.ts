import { isCancellation } from '@temporalio/workflow';
import type { WebhookActivities } from '../../../activities/webhooks';
import { AnafOutcome } from '../../../lib/temporal/search-attributes';
import { failureMessage } from '../anaf-failures';
import { isoNow, type Ledger, type LedgerView } from './ledger';

/**
 * The end of a lifecycle: the outcome recorded (view, AnafOutcome, memo), the caller's webhook
 * delivered and its fate recorded, DONE. And the download of ANAF's answer, whose failure
 * ends the lifecycle. Workflow-safe: no I/O.
 */

export interface FinishableView extends LedgerView {
  outcome?: string;
  errors: string[];
  uploadIndex?: string;
  webhook?: { url: string; state: 'PENDING' | 'DELIVERED' | 'FAILED'; attempts?: number; error?: string };
  finishedAt?: string;
}

export interface FinalWebhook {
  activities: WebhookActivities;
  url: string;
  event: string;
  deliveryId: string;
  /** Built when it is sent, from the finished view. */
  payload(): Record<string, unknown>;
}

export async function finishLifecycle<V extends FinishableView>(
  ledger: Ledger<V>,
  outcome: NonNullable<V['outcome']>,
  errors: string[],
  webhook: FinalWebhook | undefined,
): Promise<V> {
  const view = ledger.view;
  view.outcome = outcome;
  if (errors.length) view.errors = errors;
  ledger.set([{ key: AnafOutcome, value: outcome }]);
  ledger.summarize(`${outcome}${view.uploadIndex ? ` (index ${view.uploadIndex})` : ''}`);
  if (outcome !== 'FAILED') ledger.attention(undefined);
  if (webhook) {
    ledger.setStage('NOTIFYING');
    const { url } = webhook;
    try {
      const delivered = await webhook.activities.deliverWebhook({
        url,
        event: webhook.event,
        deliveryId: webhook.deliveryId,
        payload: webhook.payload(),
      });
      view.webhook = { url, state: 'DELIVERED', attempts: delivered.attempt };
    } catch (err) {
      view.webhook = { url, state: 'FAILED', error: failureMessage(err) };
    }
  }
  view.finishedAt = isoNow();
  ledger.setStage('DONE');
  ledger.flush();
  return view;
}

/** ANAF's answer document; a failure (after the activity's retries) ends the lifecycle with this message. */
export async function downloadAnswer<T>(
  ledger: Pick<Ledger<LedgerView>, 'setStage'>,
  id: string,
  fetch: () => Promise<T>,
): Promise<{ answer: T } | { failed: string }> {
  ledger.setStage('DOWNLOADING');
  try {
    return { answer: await fetch() };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { failed: `could not download ANAF's answer ${id}: ${failureMessage(err)}` };
  }
}
