import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES, failureForProblem } from '../../activities/anaf/failures';
import { BANCIWS_FAILURES, createBanciwsActivities } from '../../activities/banciws';
import { BanciwsClient } from '../../activities/banciws/client';
import { BanciwsGatewayError, BanciwsRedirectRefused } from '../../activities/banciws/transport';
import type { BlobStore } from '../../lib/storage/blob-store';
import { ConfigError, loadConfig } from '../../lib/config/config';
import { createSandbox, type RunningSandbox } from '../../sandbox';
import { createSandboxPki } from '../../sandbox/banciws';
import { type TestCredentials, writeClientCredentials } from '../../devkit/fixtures/banciws';

/**
 * What the F5 gateway of financiart.anaf.ro needs from the client, against the sandbox's real
 * TLS front: TLS 1.2 (the client certificate is asked for by renegotiation, which TLS 1.3 does
 * not have), and a login whose redirects stay on the configured origin.
 */

const CUI = '361820';
/** What loadConfig needs besides BANCIWS (no dev secrets generated). */
const ENV = {
  ANAF_ENV: 'sandbox',
  PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  TOKEN_ENCRYPTION_KEYS: `t1:${Buffer.alloc(32, 2).toString('base64')}`,
  API_KEYS: 'acme:0123456789abcdef0123',
};
const configWith = (extra: Record<string, string> = {}) => loadConfig({ ...ENV, ...extra }, { generateDevSecrets: false });

describe('BANCIWS connections: TLS 1.2 and redirects pinned to the configured origin', () => {
  /** A gateway that also offers TLS 1.3, as a front may. */
  let tls13: RunningSandbox;
  /** A gateway whose login redirect points at another host. */
  let offOrigin: RunningSandbox;
  let elsewhere: net.Server;
  const connectionsElsewhere: net.Socket[] = [];
  let creds: TestCredentials;
  const clients: BanciwsClient[] = [];
  const client = (sandbox: RunningSandbox, tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3') => {
    const c = new BanciwsClient({
      baseUrl: sandbox.banciws!.baseUrl,
      credentials: creds,
      label: `institution ${CUI}`,
      bootstrapTimeoutMs: 10_000,
      ...(tlsMaxVersion ? { tlsMaxVersion } : {}),
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    // Whatever connects here was sent off-origin: it counts the connections and answers nothing.
    elsewhere = net.createServer((socket) => {
      connectionsElsewhere.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const otherOrigin = `https://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    // One CA for both fronts, so the same certificate files work against both.
    const pki = await createSandboxPki();
    tls13 = await createSandbox({ port: 0, banciws: { tlsPort: 0, processingDelayMs: 0, pki, tlsMaxVersion: 'TLSv1.3' } });
    offOrigin = await createSandbox({ port: 0, banciws: { tlsPort: 0, processingDelayMs: 0, pki, offOriginRedirect: otherOrigin } });
    creds = await writeClientCredentials(tls13.banciws!, CUI);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await tls13?.close();
    await offOrigin?.close();
    await new Promise<void>((resolve) => elsewhere?.close(() => resolve()));
  });

  test('against a gateway that also offers TLS 1.3, BANCIWS connects with TLS 1.2 and the renegotiation gets the certificate', async () => {
    const listed = await client(tls13).list('1/24');
    assert.deepEqual(listed.messages, []);
    assert.equal(tls13.banciws!.gateway.counters.certificatesAccepted, 1);
    // The pin is what makes it work: offered TLS 1.3, the same client never presents its certificate.
    await assert.rejects(
      client(tls13, 'TLSv1.3').list('1/24'),
      (err: unknown) =>
        err instanceof BanciwsGatewayError &&
        failureForProblem(err.problem, { operation: 'login', idempotent: true }).type === FAILURE_TYPES.CERTIFICATE_REFUSED,
    );
    assert.equal(tls13.banciws!.gateway.counters.certificatesAccepted, 1);
  });

  test('BANCIWS_TLS_MAX_VERSION configures it: TLS 1.2 unless set, TLSv1.3 allowed, anything else refused at start-up', () => {
    assert.equal(configWith().banciws.tlsMaxVersion, 'TLSv1.2');
    assert.equal(configWith({ BANCIWS_TLS_MAX_VERSION: 'TLSv1.3' }).banciws.tlsMaxVersion, 'TLSv1.3');
    assert.throws(
      () => configWith({ BANCIWS_TLS_MAX_VERSION: 'TLSv1.1' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'BANCIWS_TLS_MAX_VERSION',
    );
  });

  test('a login redirect to another host is refused, typed, and not followed: nothing connects there', async () => {
    await assert.rejects(
      client(offOrigin).list('1/24'),
      (err: unknown) => err instanceof BanciwsRedirectRefused && err.message.includes('outside the configured BANCIWS origin'),
    );
    assert.equal(connectionsElsewhere.length, 0, 'the client certificate agent never connected to the other host');
    // Through the activities: a typed failure that is not retried.
    const activities = createBanciwsActivities({
      config: {
        anaf: { banciwsBaseUrl: offOrigin.banciws!.baseUrl } as never,
        banciws: {
          clientCert: undefined,
          clientKey: undefined,
          pfx: undefined,
          passphrase: undefined,
          ca: undefined,
          firstPollDelayMs: 0,
          maxPollIntervalMs: 0,
          listingDelayMs: 0,
          institutions: [{ id: 'banca', tenant: 'acme', cui: CUI, zile: '1', pollEveryMinutes: 0, ...creds }],
        },
      },
      blobs: {} as BlobStore,
    });
    await assert.rejects(
      activities.listBanciwsMessages({ tenant: 'acme', institutionId: 'banca', zile: '1' }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === BANCIWS_FAILURES.REDIRECT_REFUSED && err.nonRetryable,
    );
    assert.equal(connectionsElsewhere.length, 0);
  });
});
