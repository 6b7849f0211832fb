import { ApiError } from './errors';

/**
 * The BANCIWS and e-Transport workflows take an operator's decision as a signal, which they
 * keep until they next need one. Sent while nothing waits for it, a REUPLOAD or ADOPT_INDEX
 * would be applied to some later, unrelated lost answer; so the API refuses it unless the
 * case waits for a decision now: NEEDS_OPERATOR or RECONCILING (any action), or
 * WAITING_FOR_AUTHORIZATION (ABANDON only, where the workflow supports it). e-Factura makes
 * the same check inside its workflow (resolveSubmissionUpdate).
 */
const STUCK_STAGES = new Set(['NEEDS_OPERATOR', 'RECONCILING']);

export function refuseResolveUnlessStuck(
  stage: string,
  action: string,
  codes: { notStuck: string; abandonWhileWaitingForAuthorization?: boolean },
): void {
  if (STUCK_STAGES.has(stage)) return;
  if (stage === 'WAITING_FOR_AUTHORIZATION' && codes.abandonWhileWaitingForAuthorization) {
    if (action === 'ABANDON') return;
    throw new ApiError(409, 'RESOLVE_ACTION_NOT_ALLOWED', 'While waiting for an authorization only ABANDON is accepted');
  }
  throw new ApiError(409, codes.notStuck, `Nothing waits for an operator's decision (stage ${stage})`);
}
