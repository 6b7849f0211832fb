import { ApplicationFailure } from '@temporalio/activity';
import type { QuotaRefusal } from '../../lib/anaf/anaf-daily-quotas';
import { msUntilNextRomanianDay } from '../../lib/anaf/romanian-time';
import { type AnafResponse, AnafTransportError, ResponseTooLargeError, redactUrl } from './http';

/**
 * Every way ANAF says "no", classified once, here. ANAF answers errors as JSON
 * `{eroare, titlu}` (often with HTTP 200), OAuth-style JSON, text/plain, 4xx/5xx, its F5
 * gateway's HTML pages, and 429. Activities turn a problem into an ApplicationFailure
 * whose type and retry behaviour the workflows rely on.
 */

export type AnafProblem =
  | { kind: 'RATE_LIMITED'; status: number; retryAfterMs: number; message: string }
  | { kind: 'DAILY_LIMIT'; status: number; message: string }
  | { kind: 'GATEWAY_REJECTED'; status: number; message: string; supportId?: string }
  | { kind: 'UNAUTHORIZED'; status: number; message: string }
  | { kind: 'BAD_REQUEST'; status: number; message: string; title?: string }
  | { kind: 'SERVER_ERROR'; status: number; message: string }
  | { kind: 'ANAF_ERROR'; status: number; message: string; title?: string }
  | { kind: 'SESSION_LOST'; status: number; message: string; reason: GatewaySessionLoss['reason'] }
  | { kind: 'CERTIFICATE_REFUSED'; status: number; message: string }
  | { kind: 'TECHNICAL_ERROR'; status: number; message: string; title?: string };

export const FAILURE_TYPES = {
  RATE_LIMITED: 'AnafRateLimited',
  DAILY_LIMIT: 'AnafDailyLimit',
  GATEWAY_REJECTED: 'AnafGatewayRejected',
  UNAUTHORIZED: 'AnafUnauthorized',
  BAD_REQUEST: 'AnafBadRequest',
  SERVER_ERROR: 'AnafServerError',
  ANAF_ERROR: 'AnafError',
  NOT_SENT: 'AnafNotSent',
  ANSWER_LOST: 'AnafAnswerLost',
  TOO_LARGE: 'AnafAnswerTooLarge',
  NOT_AUTHORIZED: 'NotAuthorized',
  SESSION_LOST: 'AnafGatewaySessionLost',
  CERTIFICATE_REFUSED: 'AnafCertificateRefused',
  TECHNICAL_ERROR: 'AnafTechnicalError',
  UNEXPECTED_ANSWER: 'AnafUnexpectedAnswer',
} as const;

/**
 * ANAF's own words for "something broke on our side, try later": "A aparut o eroare tehnica.
 * Cod: XXX" (upload, validare, transformare, info examples), "din motive tehnice requestul nu a
 * putut fi procesat", "Eroare tehnica". Nothing was accepted; asking again later is the cure.
 */
const TECHNICAL_ERROR_TEXT = /eroare tehnic|motive tehnice/i;

/** Every message is ANAF's technical error (one validation error among them makes it a real refusal). */
export function isTechnicalError(messages: readonly string[]): boolean {
  return messages.length > 0 && messages.every((m) => TECHNICAL_ERROR_TEXT.test(m));
}

/** How long to wait before asking ANAF again after its technical error. */
export const TECHNICAL_ERROR_RETRY_MS = 60_000;

/**
 * ANAF answered that it had a technical error: not accepted, nothing filed. A read is retried
 * by Temporal after the delay; an upload is not (the workflow decides, bounded, in `decisions`).
 */
export function technicalErrorFailure(operation: string, messages: readonly string[], ctx: { idempotent: boolean }): ApplicationFailure {
  return ApplicationFailure.create({
    type: FAILURE_TYPES.TECHNICAL_ERROR,
    message: `${operation}: ANAF reports a technical error: ${messages.join('; ')}`,
    // The delay rides in the detail too: the workflow reads it there (see failureWithDelay).
    details: [{ kind: 'TECHNICAL_ERROR', messages, retryDelayMs: TECHNICAL_ERROR_RETRY_MS }],
    nextRetryDelay: TECHNICAL_ERROR_RETRY_MS,
    nonRetryable: !ctx.idempotent,
  });
}

/**
 * ANAF answered outside the shape it documents (an identifier that is not what ANAF says it
 * is, a field missing): asking again would get the same answer, so no retry; the workflow
 * hands it to an operator with ANAF's own text (`anafText`, cut to 500 characters).
 */
export function unexpectedAnswer(operation: string, why: string, anafText: string): ApplicationFailure {
  const text = anafText.length > 500 ? `${anafText.slice(0, 500)}…` : anafText;
  return ApplicationFailure.create({
    type: FAILURE_TYPES.UNEXPECTED_ANSWER,
    message: `${operation}: ANAF answered outside its documented shape (${why}); ANAF's answer: ${text}`,
    details: [{ why, anafText: text }],
    nonRetryable: true,
  });
}

const DAILY_LIMIT = /S-au (?:facut|efectuat) deja|limita (?:maxima )?(?:de )?\d+ .*(?:zi|zilei)|in cursul zilei/i;
const WAF_PAGE = /The requested URL was rejected|Request Rejected|support ID/i;

function excerpt(text: string, max = 300): string {
  // ANAF's XML answers carry their words in attributes (errorMessage="…"): keep those values.
  const flat = text
    .replace(/<[^>]+>/g, (tag) => ` ${[...tag.matchAll(/\b\w*message\s*=\s*"([^"]*)"/gi)].map((m) => m[1]).join(' ')} `)
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function isHtml(res: AnafResponse, text: string): boolean {
  return res.contentType.includes('text/html') || /^\s*(<!DOCTYPE html|<html)/i.test(text);
}

/**
 * Returns the problem an answer carries, or undefined when it is a normal answer.
 * `expectsHtml` is for the few endpoints whose good answers are HTML (the authorize page).
 */
export function detectProblem(res: AnafResponse): AnafProblem | undefined {
  const text = res.text();
  const status = res.status;
  if (status === 429) {
    return {
      kind: 'RATE_LIMITED',
      status,
      retryAfterMs: retryAfterMs(res.headers['retry-after']) ?? 60_000,
      message: excerpt(text) || 'Too Many Requests',
    };
  }
  if (DAILY_LIMIT.test(text) && text.length < 2_000) return { kind: 'DAILY_LIMIT', status, message: excerpt(text) };
  if (isHtml(res, text)) {
    if (WAF_PAGE.test(text)) {
      const supportId = /support ID is:?\s*([0-9]+)/i.exec(text)?.[1];
      return { kind: 'GATEWAY_REJECTED', status, message: excerpt(text), ...(supportId ? { supportId } : {}) };
    }
    if (status >= 500) return { kind: 'SERVER_ERROR', status, message: excerpt(text) };
    if (status === 401 || status === 403) return { kind: 'UNAUTHORIZED', status, message: excerpt(text) };
    // An HTML page where data was expected is the gateway talking, not the service.
    return { kind: 'GATEWAY_REJECTED', status, message: excerpt(text) };
  }
  if (status === 401 || status === 403) return { kind: 'UNAUTHORIZED', status, message: excerpt(text) || `HTTP ${status}` };
  if (status >= 500) return { kind: 'SERVER_ERROR', status, message: excerpt(text) || `HTTP ${status}` };
  const json = res.contentType.includes('json') || /^\s*\{/.test(text) ? parseJson(text) : undefined;
  const eroare = json && typeof json.eroare === 'string' ? json.eroare : undefined;
  const titlu = json && typeof json.titlu === 'string' ? json.titlu : undefined;
  if (status >= 400) {
    const message = eroare ?? (typeof json?.message === 'string' ? json.message : undefined) ?? (excerpt(text) || `HTTP ${status}`);
    return { kind: 'BAD_REQUEST', status, message, ...(titlu ? { title: titlu } : {}) };
  }
  if (eroare && isTechnicalError([eroare])) return { kind: 'TECHNICAL_ERROR', status, message: eroare, ...(titlu ? { title: titlu } : {}) };
  if (eroare) return { kind: 'ANAF_ERROR', status, message: eroare, ...(titlu ? { title: titlu } : {}) };
  return undefined;
}

export { msUntilNextRomanianDay };

/**
 * F5 BIG-IP APM (BANCIWS): the answers that mean "this request never reached the service,
 * the gateway wants a (new) session". A redirect to bare /my.policy or to the hang-up page,
 * 401/403/405, the page "Certificatul nu a fost prezentat", or an HTML page with a 2xx status
 * where XML was expected (the APM's logon page). /my.policy_nonce hops are not losses: the
 * session is being revalidated.
 *
 * Not losses, because the call may have reached BANCIWS: an HTML 5xx page (502/504 from a
 * proxy that gave up waiting for the service, after it forwarded the call) — for an upload
 * that is an answer lost after sending, which the workflow reconciles, never a blind replay.
 * Nor the WAF's rejection page: a new session would not change it (detectProblem calls it
 * GATEWAY_REJECTED). Both are left to detectProblem.
 */
export interface GatewaySessionLoss {
  reason: 'POLICY_REDIRECT' | 'HANGUP' | 'STATUS' | 'HTML_PAGE' | 'CERTIFICATE_NOT_PRESENTED';
  message: string;
}

const CERTIFICATE_NOT_PRESENTED = /Certificatul nu a fost prezentat/i;

/** The path a redirect points at, relative to the request's URL; undefined when it is not a redirect. */
export function redirectTarget(res: AnafResponse, requestUrl: string): URL | undefined {
  if (res.status < 300 || res.status >= 400) return undefined;
  const location = res.headers.location;
  const value = Array.isArray(location) ? location[0] : location;
  if (!value) return undefined;
  try {
    return new URL(value, requestUrl);
  } catch {
    return undefined;
  }
}

export function isGatewayNonceHop(res: AnafResponse, requestUrl: string): boolean {
  return redirectTarget(res, requestUrl)?.pathname === '/my.policy_nonce';
}

export function detectGatewaySessionLoss(res: AnafResponse, requestUrl: string): GatewaySessionLoss | undefined {
  const target = redirectTarget(res, requestUrl);
  if (target) {
    if (target.pathname === '/my.policy_nonce') return undefined;
    if (target.pathname === '/vdesk/hangup.php3')
      return { reason: 'HANGUP', message: 'the gateway hung up the session (/vdesk/hangup.php3)' };
    if (target.pathname === '/my.policy') return { reason: 'POLICY_REDIRECT', message: 'the gateway asks for a new session (/my.policy)' };
    return undefined;
  }
  if (res.status === 401 || res.status === 403 || res.status === 405) {
    return { reason: 'STATUS', message: `the gateway answered HTTP ${res.status}` };
  }
  // A 5xx may come from behind the gateway after the service got the call: never "not sent".
  if (res.status >= 500) return undefined;
  const text = res.body.length <= 256 * 1024 ? res.text() : '';
  if (CERTIFICATE_NOT_PRESENTED.test(text)) {
    return { reason: 'CERTIFICATE_NOT_PRESENTED', message: 'the gateway page says the client certificate was not presented' };
  }
  if (res.status >= 200 && res.status < 300 && isHtml(res, text) && !WAF_PAGE.test(text)) {
    return { reason: 'HTML_PAGE', message: `the gateway answered an HTML page (HTTP ${res.status}): ${excerpt(text, 120)}` };
  }
  return undefined;
}

/** How long to wait before sending again a request the F5 WAF rejected ("The requested URL was rejected"). */
export const GATEWAY_REJECTED_RETRY_MS = 30_000;

export interface FailureContext {
  /** What was being done, for the message: "e-Factura upload". */
  operation: string;
  /** Repeating the call has no effect at ANAF (reads, status checks, downloads). */
  idempotent: boolean;
  now?: number;
}

/**
 * A failure that asks for `delayMs` before the next try. Temporal's own retries read
 * nextRetryDelay; a workflow cannot: the SDK rebuilds an activity's failure in the workflow
 * without it. So the delay also rides in the first detail as `retryDelayMs`, where
 * retryDelayOf (workflows/shared/anaf-failures.ts) reads it for the workflow's own re-sends.
 */
function failureWithDelay(type: string, message: string, detail: object, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({ type, message, details: [{ ...detail, retryDelayMs: delayMs }], nextRetryDelay: delayMs });
}

/**
 * A daily quota is spent: ANAF said so, or the worker's quota guard knows it without asking
 * (quotaRefusedLocally). Hammering after a daily-limit answer can get the app blocked, so the
 * caller waits for the next Romanian day (+ a margin for clocks that disagree with ANAF's).
 */
export function dailyLimitFailure(message: string, detail: object, now = Date.now()): ApplicationFailure {
  return failureWithDelay(FAILURE_TYPES.DAILY_LIMIT, message, detail, msUntilNextRomanianDay(now) + 5 * 60_000);
}

/** What ANAF's daily-limit answer becomes, thrown before calling: the workflows wait exactly as they would for ANAF's. */
export function quotaRefusedLocally(operation: string, refusal: QuotaRefusal, now = Date.now()): ApplicationFailure {
  const { reason, quota, cif, day, used, limit } = refusal;
  const why =
    reason === 'REFUSED_BY_ANAF'
      ? `ANAF already answered that the ${quota} quota of CUI ${cif} is spent for ${day} (Romanian day)`
      : `${used} ${quota} calls for CUI ${cif} were made on ${day} (Romanian day), the daily limit is ${limit}`;
  const detail = { kind: 'DAILY_LIMIT', refusedLocally: true, reason, quota, cif, day, used, limit };
  return dailyLimitFailure(`${operation}: refused locally by the daily quota guard, no ANAF call made: ${why}`, detail, now);
}

export function isDailyLimitFailure(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FAILURE_TYPES.DAILY_LIMIT;
}

/** The ApplicationFailure a problem becomes; the workflows' retry and reconcile logic keys on its type. */
export function failureForProblem(problem: AnafProblem, ctx: FailureContext): ApplicationFailure {
  const message = `${ctx.operation}: ANAF answered ${problem.status}: ${problem.message}`;
  const details = [problem];
  switch (problem.kind) {
    case 'RATE_LIMITED':
      return failureWithDelay(FAILURE_TYPES.RATE_LIMITED, message, problem, problem.retryAfterMs);
    case 'DAILY_LIMIT':
      return dailyLimitFailure(message, problem, ctx.now);
    case 'GATEWAY_REJECTED':
      // The F5 WAF refused the request before the service saw it: safe to retry even uploads.
      return failureWithDelay(FAILURE_TYPES.GATEWAY_REJECTED, message, problem, GATEWAY_REJECTED_RETRY_MS);
    case 'UNAUTHORIZED':
      return ApplicationFailure.create({ type: FAILURE_TYPES.UNAUTHORIZED, message, details, nonRetryable: true });
    case 'BAD_REQUEST':
    case 'ANAF_ERROR':
      return ApplicationFailure.create({ type: FAILURE_TYPES[problem.kind], message, details, nonRetryable: true });
    case 'SESSION_LOST':
      // The gateway intercepted the call: the service never saw it, so even an upload may be sent again.
      return failureWithDelay(FAILURE_TYPES.SESSION_LOST, message, problem, 10_000);
    case 'CERTIFICATE_REFUSED':
      return ApplicationFailure.create({ type: FAILURE_TYPES.CERTIFICATE_REFUSED, message, details, nonRetryable: true });
    case 'TECHNICAL_ERROR':
      return technicalErrorFailure(ctx.operation, [problem.message], ctx);
    case 'SERVER_ERROR':
      return ctx.idempotent
        ? ApplicationFailure.create({ type: FAILURE_TYPES.SERVER_ERROR, message, details })
        : ApplicationFailure.create({ type: FAILURE_TYPES.ANSWER_LOST, message, details, nonRetryable: true });
  }
}

/** Transport errors and oversize answers as failures; anything else is rethrown unchanged. */
export function failureForError(err: unknown, ctx: FailureContext): unknown {
  if (err instanceof AnafTransportError) {
    if (err.phase === 'NOT_SENT') {
      return ApplicationFailure.create({
        type: FAILURE_TYPES.NOT_SENT,
        message: `${ctx.operation}: ANAF not reached (${err.causeCode})`,
        details: [{ url: redactUrl(err.url), code: err.causeCode }],
      });
    }
    return ApplicationFailure.create({
      type: FAILURE_TYPES.ANSWER_LOST,
      message: `${ctx.operation}: the answer was lost after the request was sent (${err.causeCode})`,
      details: [{ url: redactUrl(err.url), code: err.causeCode }],
      // A read can simply be asked again; a write must be reconciled by the workflow.
      nonRetryable: !ctx.idempotent,
    });
  }
  if (err instanceof ResponseTooLargeError) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.TOO_LARGE, message: `${ctx.operation}: ${err.message}`, nonRetryable: true });
  }
  return err;
}
