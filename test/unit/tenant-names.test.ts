import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseApiKeys, RESERVED_TENANT_NAMES } from '../../lib/config/config';
import { CLIENT_REGISTRY_WORKFLOW_ID } from '../../workflows/oauth/client-registry';

test("API_KEYS refuses a tenant named like the prefix of the product's own workflow ids", () => {
  assert.throws(
    () => parseApiKeys('acme:0123456789abcdef0123,system:fedcba9876543210fedc'),
    (err: unknown) => err instanceof ConfigError && /tenant "system" is reserved/.test(err.message) && !err.message.includes('fedcba98'),
  );
  assert.deepEqual(
    parseApiKeys('acme:0123456789abcdef0123,systems:fedcba9876543210fedc').map((k) => k.tenant),
    ['acme', 'systems'],
    'only the exact name is reserved',
  );
});

test("every workflow id that is not a tenant's starts with a reserved name", () => {
  // The registry's id, and the refresh sweep's (workers/schedules.ts, 'system/oauth-refresh-sweep').
  for (const id of [CLIENT_REGISTRY_WORKFLOW_ID, 'system/oauth-refresh-sweep']) {
    assert.ok(RESERVED_TENANT_NAMES.includes(id.split('/')[0]!), id);
  }
});
