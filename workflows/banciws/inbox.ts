import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
// Thrown by startChild when the id is running or completed: that is the deduplication.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BanciwsActivities } from '../../activities/banciws';
import type { WebhookActivities } from '../../activities/webhooks';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant } from '../../lib/temporal/search-attributes';
import { banciwsTaskQueueFor } from '../../lib/temporal/task-queues';
import { inboxItemKey } from './definitions';
import type { BanciwsInboxInput, BanciwsInboxItemInput, BanciwsInboxItemView, BanciwsInboxRunResult } from './types';

/** A poll's AnafStage is LISTING from its start (before, it had none). */
const PATCH_STAGE_FROM_START = 'banciws-inbox-stage-from-start';
/** A finished poll says DONE; before, it kept LISTING for good and `AnafStage = 'LISTING'` found every finished poll. */
const PATCH_STAGE_DONE = 'banciws-inbox-stage-done';

/**
 * The institution's inbox. A Schedule per institution runs `banciwsInbox`, which lists
 * listaMesaje (its Zile window) and starts one `banciwsInboxItem` per message. The item's
 * workflow id is `<tenant>/banciws-inbox/<institution>-<id_portal>` with
 * ALLOW_DUPLICATE_FAILED_ONLY: Temporal itself refuses a second start while an item runs or
 * once it completed, so each id_portal is downloaded once however often it is listed (within
 * the namespace's retention; keep Zile shorter than it). An item whose download failed even
 * after its activity retries fails as a workflow (FAILED in the inbox listing), and the next
 * poll that still lists it starts it again.
 */

const NON_RETRYABLE = ['AnafCertificateRefused', 'BanciwsNotConfigured', 'BanciwsInvalidRequest', 'BanciwsNoRights', 'BanciwsListRefused'];

export async function banciwsInbox(input: BanciwsInboxInput): Promise<BanciwsInboxRunResult> {
  const reads = proxyActivities<BanciwsActivities>({
    taskQueue: banciwsTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '10 seconds',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: 6,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  upsertSearchAttributes([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'banciws' },
    { key: AnafCif, value: input.cui },
    // Patched: a poll carries its stage from the start, as every other workflow (the Web UI and
    // `AnafStage = …` queries found running polls without one); before, none at all.
    ...(patched(PATCH_STAGE_FROM_START) ? [{ key: AnafStage, value: 'LISTING' }] : []),
  ]);
  const items = await reads.listBanciwsMessages({ tenant: input.tenant, institutionId: input.institutionId, zile: input.zile });
  let started = 0;
  let alreadyKnown = 0;
  for (const item of items) {
    const child: BanciwsInboxItemInput = {
      tenant: input.tenant,
      institutionId: input.institutionId,
      cui: input.cui,
      idPortal: item.idPortal,
      tipFisier: item.tipFisier,
      denumire: item.denumire,
      ...(item.indexIncarcare ? { indexIncarcare: item.indexIncarcare } : {}),
      dataMesaj: item.dataMesaj,
      ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
    };
    try {
      await startChild(banciwsInboxItem, {
        workflowId: `${input.tenant}/banciws-inbox/${inboxItemKey(input.institutionId, item.idPortal)}`,
        args: [child],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: AnafTenant, value: input.tenant },
          { key: AnafService, value: 'banciws' },
          { key: AnafCif, value: input.cui },
          { key: AnafStage, value: 'DOWNLOADING' },
        ],
        memo: {
          idPortal: item.idPortal,
          tipFisier: item.tipFisier,
          denumire: item.denumire,
          dataMesaj: item.dataMesaj,
          institutionId: input.institutionId,
        },
      });
      started += 1;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      alreadyKnown += 1;
    }
  }
  // Patched: polls finished before this say LISTING (or, from before stage-from-start, nothing).
  if (patched(PATCH_STAGE_DONE)) upsertSearchAttributes([{ key: AnafStage, value: 'DONE' }]);
  return { listed: items.length, started, alreadyKnown };
}

export const INBOX_DOWNLOAD_FAILED = 'BanciwsInboxDownloadFailed';

/** One inbox message: downloaded once, stored, announced. A download that keeps failing fails the workflow, so the next poll retries it. */
export async function banciwsInboxItem(input: BanciwsInboxItemInput): Promise<BanciwsInboxItemView> {
  const reads = proxyActivities<BanciwsActivities>({
    taskQueue: banciwsTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '4 minutes',
    retry: {
      initialInterval: '10 seconds',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: 12,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  const webhooks = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '3 days',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  });
  const view: BanciwsInboxItemView = { ...input };
  try {
    const { pdf } = await reads.downloadBanciwsDocument({
      tenant: input.tenant,
      institutionId: input.institutionId,
      idPortal: input.idPortal,
    });
    view.document = pdf;
    view.downloadedAt = new Date(Date.now()).toISOString();
    upsertSearchAttributes([
      { key: AnafStage, value: 'DONE' },
      { key: AnafOutcome, value: 'DOWNLOADED' },
    ]);
  } catch (err) {
    view.error = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
    upsertSearchAttributes([
      { key: AnafStage, value: 'DONE' },
      { key: AnafOutcome, value: 'FAILED' },
    ]);
    // Items started before this change completed with `error` (and REJECT_DUPLICATE kept them from ever running again).
    if (patched('banciws-inbox-item-fails-on-download-error')) {
      // No webhook: the item is announced once, when a later run has downloaded it (same deliveryId).
      throw ApplicationFailure.create({
        type: INBOX_DOWNLOAD_FAILED,
        message: `descarcare ${input.idPortal} for ${input.institutionId}: ${view.error}; the next inbox poll that lists it tries again`,
        nonRetryable: true,
        ...(err instanceof Error ? { cause: err } : {}),
      });
    }
  }
  if (input.callbackUrl) {
    try {
      await webhooks.deliverWebhook({
        url: input.callbackUrl,
        event: 'banciws.inbox.item',
        deliveryId: workflowInfo().workflowId,
        payload: {
          id: workflowInfo().workflowId,
          institutionId: input.institutionId,
          idPortal: input.idPortal,
          tipFisier: input.tipFisier,
          denumire: input.denumire,
          downloaded: Boolean(view.document),
          error: view.error,
        },
      });
    } catch {
      // Recorded by Temporal; the document is stored either way.
    }
  }
  return view;
}
