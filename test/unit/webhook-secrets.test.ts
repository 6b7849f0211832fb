import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../lib/config/config';
import { WebhookSecretStore } from '../../lib/webhooks/webhook-secrets';
import { testConfig } from '../../devkit/config';

const HOUR = 3600_000;

test('WEBHOOK_SECRET_OVERLAP_HOURS: 24 by default, hours to milliseconds, refused outside 0–720 naming the variable', () => {
  assert.equal(testConfig().webhooks.secretOverlapMs, 24 * HOUR);
  assert.equal(testConfig({ WEBHOOK_SECRET_OVERLAP_HOURS: '0.5' }).webhooks.secretOverlapMs, HOUR / 2);
  for (const bad of ['-1', '721', 'soon']) {
    assert.throws(
      () => testConfig({ WEBHOOK_SECRET_OVERLAP_HOURS: bad }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'WEBHOOK_SECRET_OVERLAP_HOURS',
    );
  }
});

test('secrets differ per tenant and generation; the first rotation issues the one already signing; the previous signs until the overlap ends', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-secrets-'));
  const store = new WebhookSecretStore(dir, 'master-secret-0123456789', 2 * HOUR);
  assert.notEqual(store.secretFor('acme', 1), store.secretFor('globex', 1));
  assert.notEqual(store.secretFor('acme', 1), store.secretFor('acme', 2));
  const signing = store.signingKeys('acme');
  const t0 = Date.now();
  const first = store.rotate('acme', t0);
  assert.deepEqual([first.state.generation, first.secret], [1, signing[0]!.secret]);
  const second = store.rotate('acme', t0 + HOUR);
  assert.equal(second.state.generation, 2);
  assert.deepEqual(
    store.signingKeys('acme', t0 + 2 * HOUR).map((k) => k.id),
    ['acme.2', 'acme.1'],
    'inside the overlap: both',
  );
  assert.deepEqual(
    store.signingKeys('acme', t0 + 3 * HOUR + 1).map((k) => k.id),
    ['acme.2'],
    'after it: the new one only',
  );
  assert.ok(!fs.readFileSync(path.join(dir, 'webhook-secrets', 'acme.json'), 'utf8').includes(second.secret), 'nothing secret is stored');
  assert.throws(() => store.state('../etc'), /invalid tenant/);
});
