/**
 * The window of "the last N days" for ANAF's paginated listing, counted when the call is made.
 * ANAF refuses a startTime older than 60 days "fata de momentul requestului" and an endTime in the
 * future, both against its own clock at the moment the request reaches it. A window computed when
 * the API was asked would age while its workflow waits for a worker, a retry or the budget (issue 14
 * item 7), so the activity computes it right before the call, a margin inside ANAF's limit.
 */

const DAY_MS = 24 * 3600 * 1000;
/** ANAF's limit on how far back a listing may start. */
export const LISTING_MAX_DAYS = 60;
/** How far inside ANAF's 60 days we start: the clock skew between us and ANAF and the call's transit. */
export const LISTING_WINDOW_MARGIN_MS = 60_000;

export function lastDaysWindow(days: number, now: number): { startTime: number; endTime: number } {
  // ANAF wants endTime in the past.
  const endTime = now - 1_000;
  const earliest = now - LISTING_MAX_DAYS * DAY_MS + LISTING_WINDOW_MARGIN_MS;
  return { startTime: Math.max(endTime - days * DAY_MS, earliest), endTime };
}
