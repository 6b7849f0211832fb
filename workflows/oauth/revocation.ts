import type { RevokeOutcome } from '../../activities/oauth/revoke-answer';

/**
 * Did ANAF revoke the grant? The refresh token is what keeps a grant alive, so its REVOKED is
 * the revocation; the access token is revoked second, after its grant has ended. ANAF documents
 * the request, not what it answers for a token already dead: a refusal (4xx / error body) from
 * the same client that was just authenticated for the refresh token can only be about the token
 * itself, so it does not undo the confirmation. A redirect, a gateway page, 5xx or no answer
 * means ANAF's IdP did not answer: not confirmed. Without a refresh token the access token's own
 * REVOKED is the revocation. Workflow-safe: no I/O.
 */
export function revocationConfirmed(result: { refresh?: RevokeOutcome; access?: RevokeOutcome }): boolean {
  if (result.refresh === undefined) return result.access === undefined || result.access === 'REVOKED';
  if (result.refresh !== 'REVOKED') return false;
  return result.access === undefined || result.access === 'REVOKED' || result.access === 'REJECTED';
}
