import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveEfacturaOptions } from '../../sandbox/efactura/options';
import { sandboxOptionsFromEnv } from '../../sandbox/env-options';

describe('sandbox e-Factura options from the environment (npm run sandbox)', () => {
  test('nothing set: no e-Factura options, the defaults apply', () => {
    assert.equal(sandboxOptionsFromEnv({}).efactura, undefined);
  });

  test('processing and listing delays, the received-invoice generator, known CIFs, page size', () => {
    const o = sandboxOptionsFromEnv({
      SANDBOX_EFACTURA_PROCESSING_MS: '500',
      SANDBOX_EFACTURA_LISTING_DELAY_MS: '900000',
      SANDBOX_EFACTURA_RECEIVED_EVERY_MS: '60000',
      SANDBOX_EFACTURA_KNOWN_CIFS: ' 14399840, RO18547290 ,,',
      SANDBOX_EFACTURA_LIST_PAGE_SIZE: '50',
    });
    assert.deepEqual(o.efactura, {
      processingDelayMs: 500,
      listingDelayMs: 900_000,
      receivedEveryMs: 60_000,
      knownCifs: ['14399840', '18547290'],
      listPageSize: 50,
    });
    // What createSandbox makes of them: valid, the rest at ANAF's defaults.
    const resolved = resolveEfacturaOptions(o.efactura);
    assert.equal(resolved.processingDelayMs, 500);
    assert.deepEqual(resolved.knownCifs, ['14399840', '18547290']);
    assert.equal(resolved.dailyStareLimit, 100);
  });

  test('only what is set is passed on', () => {
    assert.deepEqual(sandboxOptionsFromEnv({ SANDBOX_EFACTURA_PROCESSING_MS: '0' }).efactura, { processingDelayMs: 0 });
  });

  test("bad values are refused with the variable's name", () => {
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_EFACTURA_PROCESSING_MS: 'soon' }), /SANDBOX_EFACTURA_PROCESSING_MS/);
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_EFACTURA_RECEIVED_EVERY_MS: '-1' }), /SANDBOX_EFACTURA_RECEIVED_EVERY_MS/);
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_EFACTURA_KNOWN_CIFS: '14399840,acme' }), /SANDBOX_EFACTURA_KNOWN_CIFS.*"ACME"/);
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_EFACTURA_LIST_PAGE_SIZE: '0' }), /SANDBOX_EFACTURA_LIST_PAGE_SIZE/);
  });
});
