import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RevokeOutcome } from '../../activities/oauth/revoke-answer';
import { revocationConfirmed } from '../../workflows/oauth/revocation';

/**
 * When an authorization may say REVOKED: only when ANAF's IdP said so for the refresh token (the
 * grant). The access token is revoked after the grant ended; ANAF's refusal of it then is no
 * reason to keep the authorization "unconfirmed" (and keep its tokens), but silence is.
 */
const cases: Array<[{ refresh?: RevokeOutcome; access?: RevokeOutcome }, boolean]> = [
  [{ refresh: 'REVOKED', access: 'REVOKED' }, true],
  [{ refresh: 'REVOKED', access: 'REJECTED' }, true],
  [{ refresh: 'REVOKED' }, true],
  [{ access: 'REVOKED' }, true],
  [{}, true],
  [{ refresh: 'REVOKED', access: 'REDIRECTED_TO_GATEWAY' }, false],
  [{ refresh: 'REVOKED', access: 'GATEWAY_PAGE' }, false],
  [{ refresh: 'REVOKED', access: 'UNAVAILABLE' }, false],
  [{ refresh: 'REVOKED', access: 'UNREACHABLE' }, false],
  [{ refresh: 'REJECTED', access: 'REVOKED' }, false],
  [{ refresh: 'REDIRECTED_TO_GATEWAY', access: 'REDIRECTED_TO_GATEWAY' }, false],
  [{ refresh: 'UNREACHABLE' }, false],
  [{ access: 'REJECTED' }, false],
];

for (const [result, confirmed] of cases) {
  test(`revoke answers ${JSON.stringify(result)} → ${confirmed ? 'REVOKED' : 'REVOCATION_UNCONFIRMED'}`, () => {
    assert.equal(revocationConfirmed(result), confirmed);
  });
}
