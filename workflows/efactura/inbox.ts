import {
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { EfacturaReadActivities, InboxListing, ReceivedDocument } from '../../activities/efactura/reads';
import type { InboxCursors } from '../../activities/efactura/inbox-window';
import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import type { AnafMessage, SignatureCheckFields } from '../../activities/efactura/types';
import type { WebhookActivities } from '../../activities/webhooks';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant, AnafUploadIndex } from '../../lib/temporal/search-attributes';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { checkSignature } from './signature';

/**
 * Inbound invoices. A Schedule per organization runs `efacturaInboxSync`, which lists the
 * messages since its cursor and starts one `efacturaInboxItem` per message. The item's
 * workflow id is derived from ANAF's message id and may never be reused, so Temporal
 * itself guarantees "downloaded once": overlapping windows, a retried sync, or a
 * re-created schedule all hit the same id and are turned away. ANAF's /test and /prod number their
 * messages apart: an item downloads from the environment its message was listed on, and one listed
 * on the non-default environment has that environment in its id.
 */

export interface InboxSyncInput {
  tenant: string;
  cif: string;
  callbackUrl?: string;
  /** The first run looks this far back (ANAF keeps 60 days). */
  lookbackMs: number;
  /** Each window starts this long before the previous one ended: messages show up in ANAF's listing late. */
  overlapMs: number;
  /** Items started per run at most; the rest wait for the next run (the cursor stops before them). */
  maxItemsPerRun: number;
}

export interface InboxSyncResult {
  /** Epoch ms: where the next run on the environment listed starts (before the overlap). */
  cursor: number;
  /**
   * Where the next run starts on each environment listed so far: a switch between ANAF's /test and /prod
   * resumes that environment's own cursor, or looks back as a first sync (absent in runs recorded before).
   */
  cursors?: InboxCursors;
  /** The window listed. */
  window: { startTime: number; endTime: number };
  listed: number;
  started: number;
  alreadyKnown: number;
  /** The environment listed (absent in runs recorded before the listing named it). */
  anafEnvironment?: AnafApiEnvironment;
}

export interface InboxItemInput {
  tenant: string;
  cif: string;
  message: AnafMessage;
  callbackUrl?: string;
  /** Where the message was listed (and is downloaded from); absent in items of older syncs: the global default. */
  anafEnvironment?: AnafApiEnvironment;
}

export interface InboxItemView extends ReceivedDocument, SignatureCheckFields {
  tenant: string;
  cif: string;
  message: AnafMessage;
  receivedAt: string;
  anafEnvironment?: AnafApiEnvironment;
  webhook?: { url: string; state: 'DELIVERED' | 'FAILED'; error?: string };
}

const LISTING_MAX_AGE_MS = 60 * 24 * 3600 * 1000 - 60_000;
/** A received invoice's ANAF signature is checked through ANAF (issue 14 item 10). */
const PATCH_INBOX_SIGNATURE_CHECKED = 'efactura-inbox-signature-checked';

/** `nonDefaultEnvironment`: the message was listed on the environment that is not the global default (ids stay as they were otherwise). */
export function inboxItemWorkflowId(tenant: string, cif: string, messageId: string, nonDefaultEnvironment?: AnafApiEnvironment): string {
  return `${tenant}/efactura-inbox/${cif}-${nonDefaultEnvironment ? `${nonDefaultEnvironment}-` : ''}${messageId}`;
}

/** Syncs recorded before the listing named its environment got the bare array: the global default's messages. */
function asListing(listed: InboxListing | AnafMessage[]): Partial<InboxListing> & { messages: AnafMessage[] } {
  return Array.isArray(listed) ? { messages: listed } : listed;
}

const anafReads = () =>
  proxyActivities<EfacturaReadActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: {
      initialInterval: '10 seconds',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: 8,
      nonRetryableErrorTypes: ['NotAuthorized', 'AnafUnauthorized', 'EfacturaArchiveRefused'],
    },
  });

export async function efacturaInboxSync(input: InboxSyncInput): Promise<InboxSyncResult> {
  upsertSearchAttributes([
    { key: AnafTenant, value: input.tenant },
    { key: AnafService, value: 'efactura-inbox-sync' },
    { key: AnafCif, value: input.cif },
    { key: AnafStage, value: 'LISTING' },
  ]);
  const now = Date.now();
  const last = workflowInfo().lastResult as InboxSyncResult | undefined;
  const earliest = now - LISTING_MAX_AGE_MS;
  const startTime = Math.max(earliest, last?.cursor ?? now - input.lookbackMs);
  // ANAF wants endTime in the past and after startTime.
  const endTime = Math.max(startTime + 1_000, now - 1_000);
  // The activity starts the window at the cursor of the environment it lists (`resume`); startTime is
  // for a listing activity older than `resume`, during a deploy.
  const previous = last && { cursor: last.cursor, anafEnvironment: last.anafEnvironment, cursors: last.cursors };
  const resume = { lookbackMs: input.lookbackMs, ...(previous ? { previous } : {}) };
  const listing = asListing(await anafReads().listInboxMessages({ tenant: input.tenant, cif: input.cif, startTime, endTime, resume }));
  const { messages, anafEnvironment } = listing;
  const window = listing.window ?? { startTime, endTime };
  const idEnvironment = listing.default === false ? anafEnvironment : undefined;

  upsertSearchAttributes([{ key: AnafStage, value: 'STARTING_ITEMS' }]);
  let started = 0;
  let alreadyKnown = 0;
  let cursor = endTime - input.overlapMs;
  for (const message of messages) {
    if (started >= input.maxItemsPerRun) {
      // Resume from here next time; the overlap re-lists what came just before, and ids dedupe it.
      cursor = Math.min(cursor, message.createdAt - 60_000);
      break;
    }
    try {
      await startChild(efacturaInboxItem, {
        workflowId: inboxItemWorkflowId(input.tenant, input.cif, message.id, idEnvironment),
        args: [
          {
            tenant: input.tenant,
            cif: input.cif,
            message,
            ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
            ...(anafEnvironment ? { anafEnvironment } : {}),
          },
        ],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: AnafTenant, value: input.tenant },
          { key: AnafService, value: 'efactura-inbox' },
          { key: AnafCif, value: input.cif },
          { key: AnafUploadIndex, value: message.uploadIndex },
        ],
        memo: {
          type: message.type,
          messageId: message.id,
          uploadIndex: message.uploadIndex,
          createdAt: message.createdAt,
          details: message.details,
          ...(anafEnvironment ? { anafEnvironment } : {}),
        },
      });
      started += 1;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      alreadyKnown += 1;
    }
  }
  const nextCursor = Math.max(cursor, earliest);
  const result: InboxSyncResult = {
    cursor: nextCursor,
    ...(listing.cursors && anafEnvironment ? { cursors: { ...listing.cursors, [anafEnvironment]: nextCursor } } : {}),
    window,
    listed: messages.length,
    started,
    alreadyKnown,
    ...(anafEnvironment ? { anafEnvironment } : {}),
  };
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: started > 0 ? 'NEW_MESSAGES' : 'NOTHING_NEW' },
  ]);
  return result;
}

/** One received message: downloaded once, stored, announced by webhook. */
export async function efacturaInboxItem(input: InboxItemInput): Promise<InboxItemView> {
  upsertSearchAttributes([{ key: AnafStage, value: 'DOWNLOADING' }]);
  const { tenant, cif, message, anafEnvironment } = input;
  const document = await anafReads().downloadReceived({ tenant, cif, message, ...(anafEnvironment ? { anafEnvironment } : {}) });
  const view: InboxItemView = {
    tenant,
    cif,
    message,
    ...(anafEnvironment ? { anafEnvironment } : {}),
    ...document,
    receivedAt: new Date(Date.now()).toISOString(),
  };
  // ANAF's signature over the received invoice, checked beside the webhook; a failed check is recorded (signature.ts).
  const checking =
    document.document && document.signature && patched(PATCH_INBOX_SIGNATURE_CHECKED)
      ? checkSignature({ tenant: input.tenant, cif: input.cif, documentKey: document.document.key, signatureKey: document.signature.key })
      : undefined;
  upsertMemo({
    summary: `${input.message.type} for CIF ${input.cif}: ${document.identity.number ?? input.message.id}${document.identity.supplierCif ? ` from ${document.identity.supplierCif}` : ''}`,
  });
  if (input.callbackUrl) {
    upsertSearchAttributes([{ key: AnafStage, value: 'NOTIFYING' }]);
    const { deliverWebhook } = proxyActivities<WebhookActivities>({
      startToCloseTimeout: '1 minute',
      scheduleToCloseTimeout: '3 days',
      retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
    });
    try {
      await deliverWebhook({
        url: input.callbackUrl,
        event: 'efactura.inbox.received',
        deliveryId: workflowInfo().workflowId,
        payload: {
          id: workflowInfo().workflowId,
          cif: input.cif,
          type: input.message.type,
          messageId: input.message.id,
          ...(anafEnvironment ? { anafEnvironment } : {}),
          uploadIndex: input.message.uploadIndex,
          invoice: document.identity,
        },
      });
      view.webhook = { url: input.callbackUrl, state: 'DELIVERED' };
    } catch (err) {
      view.webhook = { url: input.callbackUrl, state: 'FAILED', error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (checking) Object.assign(view, await checking);
  upsertSearchAttributes([
    { key: AnafStage, value: 'DONE' },
    { key: AnafOutcome, value: 'RECEIVED' },
  ]);
  return view;
}
