import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { WebhookActivities } from '../../activities/webhooks';
import { failureMessage } from '../shared/anaf-failures';
import { type Lifecycle, record, view } from './authorization';
import { setWebhookUpdate } from './definitions';
import {
  authorizationIdOf,
  type AuthorizationCompany,
  type AuthorizationStatus,
  type AuthorizationWebhookState,
  type OAuthScope,
  scopesOf,
} from './types';

/**
 * Authorization events pushed as signed webhooks (issue 16 item 4). Only authorizations with a
 * `webhookUrl` (a new init field, or set by the new setWebhook update) ever queue one, so no
 * stored history reaches a command of this file. Deliveries go through a small queue kept in the
 * workflow state, one at a time in order, beside the refresh loop (never awaited by it or by an
 * update); the queue is carried over continueAsNew, and the head is sent again there with the
 * same deliveryId (receivers deduplicate on it).
 */

export type AuthorizationEventName =
  | 'authorization.active'
  | 'authorization.needs_reauthorization'
  | 'authorization.refresh_lapsing'
  | 'authorization.revoked'
  | 'authorization.cif_refused';

/** What a receiver gets in `data`: the authorization's public state; never a token, code or state. */
export interface AuthorizationEventPayload {
  authorizationId: string;
  label: string | null;
  scopes: OAuthScope[];
  status: AuthorizationStatus;
  companies: AuthorizationCompany[];
  occurredAt: string;
  cif?: string;
  /** cif_refused: the scope of the refused check or call. */
  scope?: OAuthScope;
  reason?: string;
  /** cif_refused: `link` (the check before linking) or `call` (an ANAF call for a linked company). */
  source?: 'link' | 'call';
  refreshTokenExpiresAt?: string;
  /** refresh_lapsing: whole days left (the threshold crossed: 30, 7 or 1 by default). */
  daysLeft?: number;
}

export interface QueuedEvent {
  event: AuthorizationEventName;
  deliveryId: string;
  payload: AuthorizationEventPayload;
}

/** Kept in the lifecycle state (so carried over continueAsNew). */
export interface EventOutbox {
  /** Oldest first; the head may be in flight. */
  pending: QueuedEvent[];
  /** Events queued so far by this authorization (all runs): the `n` of each deliveryId. */
  seq: number;
  last?: Omit<AuthorizationWebhookState, 'pending'>;
  /** Lapsing warnings already queued for the refresh token of this expiry. */
  lapsing?: { expiresAt: number; sentDays: number[] };
  /** CIF → when its last call-time cif_refused was noted (ms): one per CIF per day, however many calls ANAF refuses. */
  refusedAtCall?: Record<string, number>;
}

const DAY_MS = 24 * 3600 * 1000;
const DEFAULT_LAPSING_DAYS = [30, 7, 1];

function webhookActivities() {
  return proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    // As the other webhooks: retried with backoff for days while the receiver is down.
    scheduleToCloseTimeout: '3 days',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  });
}

const outboxOf = (lc: Lifecycle): EventOutbox => (lc.state.outbox ??= { pending: [], seq: 0 });

/** Queue one event for the authorization's webhook; nothing without one. Builds the payload now (the state it reports). */
export function emit(lc: Lifecycle, event: AuthorizationEventName, extra: Partial<AuthorizationEventPayload> = {}): void {
  const { state } = lc;
  if (!state.init.webhookUrl) return;
  const outbox = outboxOf(lc);
  const authorizationId = authorizationIdOf(state.init);
  outbox.seq += 1;
  const exp = state.tokens?.refreshTokenExpiresAt;
  outbox.pending.push({
    event,
    deliveryId: `${authorizationId}:${event}:${outbox.seq}`,
    payload: {
      authorizationId,
      label: state.init.label ?? null,
      scopes: scopesOf(state.init),
      status: state.status,
      companies: [...(state.companies ?? [])],
      occurredAt: new Date(Date.now()).toISOString(),
      ...(exp !== undefined ? { refreshTokenExpiresAt: new Date(exp).toISOString() } : {}),
      ...extra,
    },
  });
}

/**
 * The queue's consumer, started once per run: waits (no command) until an event is queued, then
 * delivers them in order. A delivery that still fails after its retries is recorded and dropped.
 * The URL is read at send time: a PATCH meanwhile redirects what is pending, a null drops it.
 */
export async function deliverQueuedEvents(lc: Lifecycle): Promise<never> {
  for (;;) {
    await condition(() => (lc.state.outbox?.pending.length ?? 0) > 0);
    const outbox = outboxOf(lc);
    const next = outbox.pending[0]!;
    const url = lc.state.init.webhookUrl;
    if (url) {
      try {
        const delivered = await webhookActivities().deliverWebhook({
          url,
          event: next.event,
          deliveryId: next.deliveryId,
          payload: next.payload,
        });
        outbox.last = { lastEvent: next.event, deliveryId: next.deliveryId, state: 'DELIVERED', attempts: delivered.attempt };
      } catch (err) {
        outbox.last = { lastEvent: next.event, deliveryId: next.deliveryId, state: 'FAILED', error: failureMessage(err) };
        record(lc, 'WEBHOOK_FAILED', `${next.event}: ${failureMessage(err)}`);
      }
    }
    outbox.pending.shift();
  }
}

/** The view's part: where events go, and the last delivery. */
export function webhookView(lc: Lifecycle): { webhookUrl?: string; webhook?: AuthorizationWebhookState } {
  const { state } = lc;
  const last = state.outbox?.last;
  return {
    ...(state.init.webhookUrl ? { webhookUrl: state.init.webhookUrl } : {}),
    ...(last ? { webhook: { ...last, pending: state.outbox?.pending.length ?? 0 } } : {}),
  };
}

/** The thresholds (days before the refresh token lapses), largest first; none without a webhook. */
function lapsingDays(lc: Lifecycle): number[] {
  if (!lc.state.init.webhookUrl) return [];
  return [...new Set(lc.state.init.settings.lapsingWarnDays ?? DEFAULT_LAPSING_DAYS)].filter((d) => d > 0).sort((a, b) => b - a);
}

function unsentLapsingDays(lc: Lifecycle, expiresAt: number): number[] {
  const sent = lc.state.outbox?.lapsing?.expiresAt === expiresAt ? lc.state.outbox.lapsing.sentDays : [];
  return lapsingDays(lc).filter((d) => !sent.includes(d));
}

const usable = (status: AuthorizationStatus) => status === 'ACTIVE' || status === 'REFRESHING';

/**
 * When the next refresh_lapsing warning is due (for runLifecycle's wake-up), or undefined:
 * none without a webhook, a refresh token expiry, or a usable token. May be in the past (then due now).
 */
export function nextLapsingAt(lc: Lifecycle): number | undefined {
  const exp = lc.state.tokens?.refreshTokenExpiresAt;
  if (exp === undefined || !usable(lc.state.status) || exp <= Date.now()) return undefined;
  const days = unsentLapsingDays(lc, exp);
  return days.length ? exp - days[0]! * DAY_MS : undefined;
}

/**
 * Queues refresh_lapsing once for the most urgent threshold crossed (one woken late past 30 and
 * 7 days sends the 7-day one only). A new refresh token (another expiry) starts the count again.
 */
export function emitLapsing(lc: Lifecycle): void {
  const exp = lc.state.tokens?.refreshTokenExpiresAt;
  if (exp === undefined || !usable(lc.state.status) || exp <= Date.now()) return;
  const crossed = unsentLapsingDays(lc, exp).filter((d) => Date.now() >= exp - d * DAY_MS);
  if (!crossed.length) return;
  const outbox = outboxOf(lc);
  const sentDays = outbox.lapsing?.expiresAt === exp ? outbox.lapsing.sentDays : [];
  outbox.lapsing = { expiresAt: exp, sentDays: [...sentDays, ...crossed] };
  const daysLeft = Math.min(...crossed);
  emit(lc, 'authorization.refresh_lapsing', {
    daysLeft,
    reason: `the refresh token lapses within ${daysLeft} day${daysLeft === 1 ? '' : 's'}: sign in again before it does`,
  });
}

/** Longest reason kept from a caller's signal (ANAF's sentence is far shorter). */
const MAX_REASON_CHARS = 300;

/**
 * An ANAF call with this authorization's token was refused for a CIF (cifRefusedAtCallSignal):
 * recorded and pushed as authorization.cif_refused (source `call`) at most once per CIF per 24 h,
 * so a company with a hundred queued invoices gives one event, not a hundred. Only state changes
 * here (the delivery loop sends it); older noted CIFs are forgotten after the day, so the map stays small.
 */
export function noteCifRefusedAtCall(lc: Lifecycle, { cif, scope, reason }: { cif: string; scope: OAuthScope; reason: string }): void {
  if (typeof cif !== 'string' || !/^\d{1,13}$/.test(cif) || typeof reason !== 'string') return;
  const outbox = outboxOf(lc);
  const now = Date.now();
  const noted = Object.fromEntries(Object.entries(outbox.refusedAtCall ?? {}).filter(([, at]) => now - at < DAY_MS));
  if (noted[cif] !== undefined) {
    outbox.refusedAtCall = noted;
    return;
  }
  outbox.refusedAtCall = { ...noted, [cif]: now };
  const why = reason.slice(0, MAX_REASON_CHARS);
  record(lc, 'CIF_REFUSED_AT_CALL', `${scope} ${cif}: ${why}`);
  emit(lc, 'authorization.cif_refused', { cif, scope, reason: why, source: 'call' });
}

/** PATCH /v1/authorizations/{id}: the URL checked by the API (lib/webhooks/webhook-target.ts), refused here once revoked. */
export function handleWebhookSetting(lc: Lifecycle): void {
  const { state } = lc;
  setHandler(
    setWebhookUpdate,
    ({ webhookUrl }) => {
      if (webhookUrl) state.init = { ...state.init, webhookUrl };
      else {
        const { webhookUrl: _dropped, ...rest } = state.init;
        state.init = rest;
      }
      record(lc, webhookUrl ? 'WEBHOOK_SET' : 'WEBHOOK_REMOVED');
      lc.wake = true; // the lapsing timers depend on it
      return view(lc);
    },
    {
      validator: ({ webhookUrl }) => {
        if (state.status === 'REVOKED')
          throw ApplicationFailure.create({
            type: 'AuthorizationRevoked',
            message: 'this authorization is revoked: it sends no more events',
          });
        if (webhookUrl !== null && (typeof webhookUrl !== 'string' || !/^https?:\/\//.test(webhookUrl))) {
          throw ApplicationFailure.create({ type: 'WebhookUrlInvalid', message: 'webhookUrl must be an http(s) URL or null' });
        }
      },
    },
  );
}
