import assert from 'node:assert/strict';
import { test } from 'node:test';
import { environmentChanges, scopeEnvironments } from '../../api/organization-routes';
import { ApiError } from '../../api/errors';

/** A proxy base URL (neither /test nor /prod) has one environment: a per-organization switch is refused, not ignored. */

const PROXY = 'https://anaf-proxy.example.com/api';

test('behind a proxy base URL, PATCH test/prod is 422 ENVIRONMENT_UNSUPPORTED; null is accepted', () => {
  for (const env of ['test', 'prod']) {
    assert.throws(
      () => environmentChanges({ EFACTURA: env }, PROXY),
      (err: unknown) => err instanceof ApiError && err.status === 422 && err.code === 'ENVIRONMENT_UNSUPPORTED',
    );
  }
  assert.deepEqual(environmentChanges({ EFACTURA: null, ETRANSPORT: null }, PROXY), { EFACTURA: null, ETRANSPORT: null });
  assert.deepEqual(environmentChanges({ EFACTURA: 'prod' }, 'https://api.anaf.ro/test'), { EFACTURA: 'prod' });
  assert.deepEqual(environmentChanges({ EFACTURA: 'test' }, 'https://api.anaf.ro/prod/'), { EFACTURA: 'test' });
});

test('behind a proxy base URL, GET shows no environment (not a made-up test), whatever the memo holds', () => {
  assert.deepEqual(scopeEnvironments(PROXY, { EFACTURA: 'prod' }), { EFACTURA: { default: true }, ETRANSPORT: { default: true } });
  assert.deepEqual(scopeEnvironments('https://api.anaf.ro/prod', { ETRANSPORT: 'test' }), {
    EFACTURA: { environment: 'prod', default: true },
    ETRANSPORT: { environment: 'test', default: false },
  });
});
