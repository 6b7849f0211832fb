import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CredentialSetEntry,
  CredentialSetIdClashError,
  credentialSetClashes,
  mergeCredentialSets,
  publicCredentialSet,
} from '../../services/clients/oauth-credential-sets';
import { CredentialSetNotFoundError, pickCredentialSetFrom } from '../../api/oauth-requests';

const env: CredentialSetEntry = {
  source: 'env',
  id: 'main',
  clientId: 'c-main',
  clientSecret: 'env-secret',
  redirectUri: 'https://a.example/oauth/callback',
  scopes: ['EFACTURA', 'ETRANSPORT'],
};
const live: CredentialSetEntry = {
  source: 'api',
  id: 'erp',
  clientId: 'c-erp',
  sealedSecret: 'sealed:v2:k1:AAAA',
  redirectUri: 'https://erp.example/oauth/callback',
  scopes: ['EFACTURA'],
  createdAt: '2026-12-01T00:00:00.000Z',
};
const retired: CredentialSetEntry = {
  ...live,
  id: 'old',
  clientId: 'c-old',
  redirectUri: 'https://old.example/oauth/callback',
  retiredAt: '2026-12-02T00:00:00.000Z',
};

test('a new sign-in picks a live set by callback, env sets first without one, and never a retired set', () => {
  const sets = [env, live, retired];
  assert.equal(pickCredentialSetFrom(sets, 'EFACTURA').id, 'main');
  assert.equal(pickCredentialSetFrom(sets, 'EFACTURA', live.redirectUri).id, 'erp');
  assert.throws(() => pickCredentialSetFrom(sets, 'EFACTURA', retired.redirectUri), CredentialSetNotFoundError);
  assert.throws(() => pickCredentialSetFrom(sets, 'ETRANSPORT', live.redirectUri), CredentialSetNotFoundError);
  assert.throws(() => pickCredentialSetFrom([retired], 'EFACTURA'), CredentialSetNotFoundError);
});

test('the public view of a set holds no secret, sealed or not', () => {
  for (const entry of [env, live, retired]) {
    const shown = JSON.stringify(publicCredentialSet(entry));
    assert.doesNotMatch(shown, /secret|sealed/i, shown);
  }
  assert.deepEqual(publicCredentialSet(retired), {
    id: 'old',
    source: 'api',
    clientId: 'c-old',
    redirectUri: retired.redirectUri,
    scopes: ['EFACTURA'],
    createdAt: '2026-12-01T00:00:00.000Z',
    retiredAt: '2026-12-02T00:00:00.000Z',
  });
});

test('an env set with the id of an API-added set is refused by name, never resolved one way or the other; other sets go on', () => {
  const { source: _e, ...envSet } = env as Extract<CredentialSetEntry, { source: 'env' }>;
  const { source: _l, ...added } = live as Extract<CredentialSetEntry, { source: 'api' }>;
  assert.deepEqual(
    mergeCredentialSets([envSet], [added]).map((s) => `${s.source}:${s.id}`),
    ['env:main', 'api:erp'],
  );
  // The env set added later under the API set's id: that id is in neither list (and named), the others stay usable.
  const clashing = [envSet, { ...envSet, id: 'erp' }];
  assert.deepEqual(
    mergeCredentialSets(clashing, [added]).map((s) => `${s.source}:${s.id}`),
    ['env:main'],
  );
  assert.deepEqual(credentialSetClashes(clashing, [added]), ['erp']);
  const err = new CredentialSetIdClashError(['erp']);
  assert.ok(/"erp"/.test(err.message) && !/secret-|sealed:/.test(err.message));
});
