import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/**
 * How workflows read an ANAF activity's failure: its type (as activities/anaf/failures.ts
 * and the token provider throw them), its message, the delay ANAF asked for, and what an
 * upload failure means for the "never file twice" rule. The one copy, shared by every
 * upload lifecycle (e-Factura, e-Transport, BANCIWS: workflows/shared/lifecycle) and OAuth.
 * Workflow-safe: no I/O.
 */

export const ANAF_FAILURE = {
  NOT_SENT: 'AnafNotSent',
  ANSWER_LOST: 'AnafAnswerLost',
  RATE_LIMITED: 'AnafRateLimited',
  DAILY_LIMIT: 'AnafDailyLimit',
  GATEWAY: 'AnafGatewayRejected',
  SERVER_ERROR: 'AnafServerError',
  NOT_AUTHORIZED: 'NotAuthorized',
  UNAUTHORIZED: 'AnafUnauthorized',
  BAD_REQUEST: 'AnafBadRequest',
  ANAF_ERROR: 'AnafError',
  TECHNICAL_ERROR: 'AnafTechnicalError',
  UNEXPECTED_ANSWER: 'AnafUnexpectedAnswer',
  TIMEOUT: 'Timeout',
} as const;

/** Transient upload failures that surely did not reach ANAF: the workflow may send again, bounded. */
export const UPLOAD_SAFE_TO_RETRY = new Set<string>([
  ANAF_FAILURE.NOT_SENT,
  ANAF_FAILURE.RATE_LIMITED,
  ANAF_FAILURE.GATEWAY,
  ANAF_FAILURE.DAILY_LIMIT,
]);
export const MAX_SAFE_UPLOAD_RETRIES = 50;
/** Lost answers in a row before a human decides (each one was reconciled first). */
export const MAX_LOST_ANSWERS = 3;
export const AUTHORIZATION_WAIT_LIMIT_MS = 14 * 24 * 3600 * 1000;
export const AUTH_FAILURE_TYPES = new Set<string>([ANAF_FAILURE.NOT_AUTHORIZED, ANAF_FAILURE.UNAUTHORIZED]);
/** ANAF refused the request itself (400, {eroare}): nothing was filed. */
export const UPLOAD_REFUSED = new Set<string>([ANAF_FAILURE.BAD_REQUEST, ANAF_FAILURE.ANAF_ERROR]);
/** ANAF's technical errors ("A aparut o eroare tehnica") answered to one upload, re-sent before the upload ends FAILED. */
export const MAX_TECHNICAL_RETRIES = 5;

/** The wait before the n-th re-send after ANAF's technical error: what ANAF's failure asked for, doubled each time, at most 30 min. */
export function technicalRetryDelayMs(askedMs: number, n: number): number {
  return Math.min(30 * 60_000, askedMs * 2 ** Math.min(n - 1, 5));
}

export function failureType(err: unknown): string | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  if (err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
  if (err.cause instanceof TimeoutFailure) return ANAF_FAILURE.TIMEOUT;
  return undefined;
}

/**
 * An ApplicationFailure's type, thrown bare (a handler, a child) or as an activity's cause.
 * OAuth reads failures this way; the upload lifecycles use failureType (timeouts count there).
 */
export function causeType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The delay an activity's failure asked for, else `fallbackMs`. Read from the first detail's
 * `retryDelayMs` (activities/anaf/failures.ts): the SDK rebuilds the failure in the workflow
 * without nextRetryDelay, so reading only that made every wait the fallback (10 s instead of
 * the next Romanian day after a daily-limit answer).
 */
export function retryDelayOf(err: unknown, fallbackMs: number): number {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const detail = err.cause.details?.[0] as { retryDelayMs?: unknown } | undefined;
    if (typeof detail?.retryDelayMs === 'number') return detail.retryDelayMs;
    const d = err.cause.nextRetryDelay;
    if (typeof d === 'number') return d;
  }
  return fallbackMs;
}

/** Back-off for the n-th safe re-send when ANAF named no delay. */
export function safeRetryFallbackMs(n: number): number {
  return Math.min(10 * 60_000, 5_000 * 2 ** Math.min(n, 7));
}

/** Next look at the authorization after waiting `waitedMs` for it. */
export function authorizationBackoffMs(waitedMs: number): number {
  return Math.min(30 * 60_000, Math.max(60_000, waitedMs / 2));
}

/** The attempt the activity made (stareMesaj retries), from a benign failure's details. */
export function attemptOf(err: unknown): number | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempt?: number } | undefined)?.attempt : undefined;
}

/**
 * What an upload's failure means:
 * - AUTH: no usable token; wait for the organization to be authorized again;
 * - SAFE_TO_RETRY: ANAF surely did not take it (not reached, 429, WAF page, daily limit);
 * - TECHNICAL: ANAF answered "a technical error occurred": not accepted; send again after a
 *   bounded delay, each time in `decisions` (ANAF's upload spec documents it as ExecutionStatus=1);
 * - REFUSED: ANAF refused the request itself (400, {eroare}): nothing was filed;
 * - MAYBE_SENT: anything else — a timeout, a reset, a 5xx, an answer we cannot read, a type
 *   nobody classified: it may have reached ANAF, so reconcile; never re-send blindly.
 * Each service passes its own sets (BANCIWS: session lost is safe, no authorization, no refusals).
 */
export type UploadFailureClass = 'AUTH' | 'SAFE_TO_RETRY' | 'TECHNICAL' | 'MAYBE_SENT' | 'REFUSED';

export interface UploadFailureSets {
  safeToRetry: ReadonlySet<string>;
  authTypes: ReadonlySet<string>;
  refusedTypes: ReadonlySet<string>;
}

export const REST_UPLOAD_FAILURES: UploadFailureSets = {
  safeToRetry: UPLOAD_SAFE_TO_RETRY,
  authTypes: AUTH_FAILURE_TYPES,
  refusedTypes: UPLOAD_REFUSED,
};

export function classifyUploadFailure(type: string | undefined, sets: UploadFailureSets = REST_UPLOAD_FAILURES): UploadFailureClass {
  if (type === undefined) return 'MAYBE_SENT';
  if (sets.authTypes.has(type)) return 'AUTH';
  if (sets.safeToRetry.has(type)) return 'SAFE_TO_RETRY';
  if (type === ANAF_FAILURE.TECHNICAL_ERROR) return 'TECHNICAL';
  if (sets.refusedTypes.has(type)) return 'REFUSED';
  return 'MAYBE_SENT';
}
