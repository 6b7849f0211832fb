import { patched } from '@temporalio/workflow';

/**
 * Priority keys on the ANAF task queue: when its budget (ANAF_CALLS_PER_MINUTE) is the
 * bottleneck, the server dispatches lower keys first (1–5; an activity without one gets 3).
 * The OAuth code exchange comes first: ANAF's code is exchangeable for 60 s, and a user waits
 * on the callback. The token refresh next: every call of an organization waits on it. Then
 * uploads, reads (download, listing), and status polls last. Workflow-safe: no I/O.
 */
export const ANAF_PRIORITY = {
  CODE_EXCHANGE: 1,
  TOKEN_REFRESH: 2,
  UPLOAD: 3,
  READ: 4,
  STATUS_POLL: 5,
} as const;

/**
 * Before it, uploads had 1, reads 2 and polls 4, and the OAuth calls none (3, behind every
 * upload and read): a code exchange queued behind a saturated budget missed its 60 s.
 * Workflows started before it keep the keys they had.
 */
export const PATCH_OAUTH_FIRST = 'anaf-priorities-oauth-first';

/** Each lifecycle call's key before PATCH_OAUTH_FIRST (uploads 1, reads 2, polls 4, as callers still name them), and since. */
const SINCE_OAUTH_FIRST = { 1: ANAF_PRIORITY.UPLOAD, 2: ANAF_PRIORITY.READ, 4: ANAF_PRIORITY.STATUS_POLL } as const;

/** A lifecycle call's key: behind the two OAuth keys, unless the workflow started before the patch. */
export function lifecyclePriorityKey(keyBeforeOAuthFirst: keyof typeof SINCE_OAUTH_FIRST): number {
  return patched(PATCH_OAUTH_FIRST) ? SINCE_OAUTH_FIRST[keyBeforeOAuthFirst] : keyBeforeOAuthFirst;
}

/** The key of an OAuth call: none before PATCH_OAUTH_FIRST (the server's default, 3). */
export function oauthPriority(key: typeof ANAF_PRIORITY.CODE_EXCHANGE | typeof ANAF_PRIORITY.TOKEN_REFRESH): {
  priority?: { priorityKey: number };
} {
  return patched(PATCH_OAUTH_FIRST) ? { priority: { priorityKey: key } } : {};
}
