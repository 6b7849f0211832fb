/**
 * View shapes every upload lifecycle shares; each service's types.ts names them as its own
 * (e-Factura's UploadAttempt is e-Transport's). Workflow-safe: no I/O.
 */

/** The stages of an upload, from queued to polled, that every lifecycle with an authorization has. */
export const UPLOAD_STAGES = ['QUEUED', 'WAITING_FOR_AUTHORIZATION', 'UPLOADING', 'RECONCILING', 'NEEDS_OPERATOR', 'POLLING'] as const;
export type UploadStage = (typeof UPLOAD_STAGES)[number];

/** Timing a lifecycle follows; fixed at start (from config) so replays see the same values. */
export interface LifecycleSettings {
  /** First stareMesaj check this long after the upload. */
  firstPollDelayMs: number;
  /** Backoff between checks grows to this. */
  maxPollIntervalMs: number;
  /** ANAF lists an upload this long after processing at the latest: until then, "not listed" proves nothing. */
  listingDelayMs: number;
  /** stareMesaj calls per index and Romanian day we allow ourselves (ANAF: 100). */
  dailyStatusBudget: number;
}

export interface UploadAttempt {
  n: number;
  startedAt: string;
  /**
   * TECHNICAL_ERROR: ANAF answered with its technical error (not accepted; sent again after a delay).
   * NOT_SENT: the upload surely never reached ANAF (not connected, 429, gateway page, daily limit); sent again.
   */
  result: 'ACCEPTED' | 'REJECTED_AT_UPLOAD' | 'ANSWER_LOST' | 'TECHNICAL_ERROR' | 'NOT_SENT' | 'FAILED';
  uploadIndex?: string;
  error?: string;
}

/** No attempt may have reached ANAF (none yet, or only re-sends it surely never saw): a cancel can still stop the upload. */
export function nothingSent(attempts: ReadonlyArray<{ result: string }>): boolean {
  return attempts.every((a) => a.result === 'NOT_SENT');
}

/** The choices the core records about an upload: re-sent (safe, technical error), possibly a duplicate (ANAF's listing, an operator). */
export type ListingDecisionName =
  | 'ADOPTED_LISTED_INDEX'
  | 'REUPLOAD_AFTER_LISTING_DELAY'
  | 'WAITING_FOR_OPERATOR'
  | 'OPERATOR_ADOPTED_INDEX'
  | 'OPERATOR_REUPLOAD'
  | 'OPERATOR_ABANDONED'
  | 'TECHNICAL_ERROR_RETRY'
  | 'SAFE_RETRY';

/** The caller's webhook, as far as it got. */
export interface WebhookStatus {
  url: string;
  state: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts?: number;
  error?: string;
}

/** The fields every lifecycle view has besides its own: whether it needs a person, the webhook, its times. */
export interface LifecycleStatus<W extends WebhookStatus = WebhookStatus> {
  needsAttention: boolean;
  attentionReason?: string;
  webhook?: W;
  receivedAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** What every lifecycle view starts with: queued, nothing tried, nothing decided. */
export function initialLifecycleView(start: { callbackUrl?: string; receivedAt: string }) {
  return {
    stage: 'QUEUED' as const,
    attempts: [],
    statusChecks: 0,
    errors: [],
    decisions: [],
    needsAttention: false,
    ...(start.callbackUrl ? { webhook: { url: start.callbackUrl, state: 'PENDING' as const } } : {}),
    receivedAt: start.receivedAt,
    updatedAt: new Date(Date.now()).toISOString(),
  };
}
