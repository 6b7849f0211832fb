import assert from 'node:assert/strict';
import type dns from 'node:dns';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities } from '../../activities/webhooks';
import { checkWebhookUrl, isPublicAddress, WebhookTargetError } from '../../lib/webhooks/webhook-target';

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
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
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
    const { deliverWebhook } = createWebhookActivities(
      { webhooks: { secret: SECRET, allowPrivateTargets, secretOverlapMs: 0 }, dataDir: os.tmpdir() },
      resolverAnswering(addresses),
    );
    return new MockActivityEnvironment().run(deliverWebhook, {
      // Refusals are checked on 443 (the only ports allowed with the guard on); allowed, the receiver's own port.
      url: `http://${HOST}:${allowPrivateTargets ? port : 443}/hooks`,
      event: 'efactura.submission.finished',
      deliveryId: 'acme/efactura/inv-1',
      payload: { outcome: 'ACCEPTED' },
    });
  };

  for (const addresses of [
    ['127.0.0.1'],
    ['10.1.2.3'],
    ['169.254.169.254'],
    ['::1'],
    ['::7f00:1'],
    ['::ffff:10.0.0.1'],
    ['93.184.215.14', '192.168.1.10'],
  ]) {
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

describe('webhook targets at submission: IPv4 inside IPv6, and ports', () => {
  test('IPv4-compatible (::/96) and IPv4-mapped private addresses are refused; public ones pass', () => {
    for (const host of ['[::7f00:1]', '[::a00:1]', '[::ffff:127.0.0.1]', '[::ffff:10.0.0.1]', '[::]', '[64:ff9b::a00:1]']) {
      assert.throws(() => checkWebhookUrl(`https://${host}/hooks`, false), WebhookTargetError, host);
    }
    assert.equal(checkWebhookUrl('https://[::ffff:93.184.215.14]/hooks', false).hostname, '[::ffff:5db8:d70e]');
    assert.equal(isPublicAddress('2606:2800:21f:cb07:6820:80da:af6b:8b2c'), true);
  });

  test('only ports 443 and 8443, unless private targets are allowed (development)', () => {
    for (const url of ['https://hooks.erp.example/x', 'https://hooks.erp.example:443/x', 'https://hooks.erp.example:8443/x'])
      assert.ok(checkWebhookUrl(url, false));
    for (const url of [
      'http://hooks.erp.example/x',
      'https://hooks.erp.example:22/x',
      'https://hooks.erp.example:6379/x',
      'http://hooks.erp.example:7233/x',
    ]) {
      assert.throws(() => checkWebhookUrl(url, false), /port 443 or 8443/, url);
    }
    assert.ok(checkWebhookUrl('http://127.0.0.1:38123/hooks', true));
  });
});
