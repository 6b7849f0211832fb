import assert from 'node:assert/strict';
import type dns from 'node:dns';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities } from '../../activities/webhooks';

/**
 * SSRF at delivery: a callbackUrl whose host NAME passes the submission check (not a literal
 * IP, not "localhost") but resolves to a private or loopback address must be refused when the
 * webhook is delivered, on what DNS answers. The resolver is ours: every name answers what
 * the test says, and the receiver is a real server on loopback.
 */

const HOST = 'hooks.erp-partner.example';
const SECRET = 'webhook-secret-for-the-unit-test';

/** A dns.lookup that answers `addresses` for every name (as `all: true` asks). */
function resolverAnswering(addresses: string[]): typeof dns.lookup {
  return ((_host: string, _options: dns.LookupOptions, callback: (err: Error | null, list: dns.LookupAddress[]) => void) => {
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  }) as unknown as typeof dns.lookup;
}

describe('webhook delivery refuses host names that resolve to non-public addresses', () => {
  let receiver: http.Server;
  let port: number;
  let received = 0;

  before(async () => {
    receiver = http.createServer((req, res) => {
      received += 1;
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  const deliver = (allowPrivateTargets: boolean, addresses: string[]) => {
    const { deliverWebhook } = createWebhookActivities({ webhooks: { secret: SECRET, allowPrivateTargets, secretOverlapMs: 0 }, dataDir: os.tmpdir() }, resolverAnswering(addresses));
    return new MockActivityEnvironment().run(deliverWebhook, {
      url: `http://${HOST}:${port}/hooks`,
      event: 'efactura.submission.finished',
      deliveryId: 'acme/efactura/inv-1',
      payload: { outcome: 'ACCEPTED' },
    });
  };

  for (const addresses of [['127.0.0.1'], ['10.1.2.3'], ['169.254.169.254'], ['::1'], ['93.184.215.14', '192.168.1.10']]) {
    test(`a name resolving to ${addresses.join(', ')} is refused, non-retryable, and nothing is sent`, async () => {
      const before = received;
      await assert.rejects(deliver(false, addresses), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, 'WebhookTargetRefused', err.message);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /non-public address/);
        return true;
      });
      assert.equal(received, before, 'the receiver got nothing');
    });
  }

  test('with private targets allowed, the same name and resolver deliver (the refusal above is the address check, not an unreachable host)', async () => {
    const before = received;
    const delivered = (await deliver(true, ['127.0.0.1'])) as { status: number };
    assert.equal(delivered.status, 200);
    assert.equal(received, before + 1);
  });
});
