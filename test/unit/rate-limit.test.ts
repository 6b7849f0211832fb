import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request, Response } from 'express';
import { ApiError } from '../../api/errors';
import { perIpRateLimit } from '../../api/rate-limit';

/** The per-IP bucket in front of the public OAuth routes: a burst, then 429 with Retry-After, per address. */
function call(limit: ReturnType<typeof perIpRateLimit>, ip: string): { error?: unknown; retryAfter?: string } {
  const headers: Record<string, string> = {};
  let error: unknown = 'not called';
  limit(
    { ip } as Request,
    { setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as Response,
    (err?: unknown) => (error = err),
  );
  return { error, ...(headers['retry-after'] ? { retryAfter: headers['retry-after'] } : {}) };
}

test('a burst passes, the next request of that address is 429 RATE_LIMITED with Retry-After; another address is not held up', () => {
  const limit = perIpRateLimit({ burst: 3, perMinute: 6 });
  for (let i = 0; i < 3; i++) assert.equal(call(limit, '203.0.113.7').error, undefined, `request ${i + 1} of the burst`);
  const refused = call(limit, '203.0.113.7');
  assert.ok(
    refused.error instanceof ApiError && refused.error.status === 429 && refused.error.code === 'RATE_LIMITED',
    String(refused.error),
  );
  assert.equal(refused.retryAfter, '10', 'one token back after 60 s / 6');
  assert.equal(call(limit, '198.51.100.9').error, undefined);
});

test('memory stays bounded: past maxClients the least recently seen address is forgotten', () => {
  const limit = perIpRateLimit({ burst: 1, perMinute: 1, maxClients: 2 });
  assert.equal(call(limit, '192.0.2.1').error, undefined);
  assert.ok(call(limit, '192.0.2.1').error instanceof ApiError);
  call(limit, '192.0.2.2');
  call(limit, '192.0.2.3');
  // 192.0.2.1 was evicted: it starts with a full bucket again.
  assert.equal(call(limit, '192.0.2.1').error, undefined);
});
