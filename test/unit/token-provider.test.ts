import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { TokenProvider } from '../../activities/oauth/token-provider';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { testConfig } from '../../devkit/config';

test('Temporal unreachable while reading the token: a retryable "not sent" failure, never a final one', { timeout: 120_000 }, async () => {
  // A port that refuses connections: what a worker sees while the Temporal server restarts.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: 200 });
  const provider = new TokenProvider(new Client({ connection }), new TokenSealer(testConfig().tokenSealing));
  try {
    await assert.rejects(
      connection.withDeadline(Date.now() + 3_000, () => provider.accessToken({ tenant: 'acme', cif: '18547290', scope: 'EFACTURA' })),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, 'AnafNotSent');
        assert.equal(err.nonRetryable, false);
        return true;
      },
    );
  } finally {
    await connection.close();
  }
});
