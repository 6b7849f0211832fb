import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BanciwsClient } from '../../activities/banciws/client';
import { BanciwsCredentialsError } from '../../activities/banciws/credentials';
import { BanciwsGatewayError } from '../../activities/banciws/transport';
import { createSandbox, type RunningSandbox } from '../../sandbox';
import { captureLogs } from '../support/stack';
import { testSignedPdf, type TestCredentials, writeClientCredentials } from '../support/banciws';

/**
 * The F5 session against the sandbox's real HTTPS/TLS front: the certificate is asked for
 * by a server-initiated renegotiation, so these tests prove Node's TLS client completes it.
 */

const CUI = '361820';

describe('BANCIWS transport through the F5 sandbox', () => {
  let sandbox: RunningSandbox;
  let creds: TestCredentials;
  const clients: BanciwsClient[] = [];
  const logs = captureLogs();

  const client = (overrides: Partial<TestCredentials> = {}, bootstrapTimeoutMs?: number) => {
    const c = new BanciwsClient({
      baseUrl: sandbox.banciws!.baseUrl,
      credentials: { ...creds, ...overrides },
      label: `institution ${CUI}`,
      logger: logs.logger,
      ...(bootstrapTimeoutMs ? { bootstrapTimeoutMs } : {}),
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    sandbox = await createSandbox({ port: 0, banciws: { tlsPort: 0, processingDelayMs: 0 } });
    creds = await writeClientCredentials(sandbox.banciws!, CUI);
  });
  beforeEach(() => sandbox.reset());
  after(async () => {
    for (const c of clients) await c.close();
    await sandbox.close();
  });

  test('bootstraps through the redirect chain; the certificate is presented by TLS renegotiation at /my.policy', async () => {
    const c = client();
    const listed = await c.list('1/24');
    assert.deepEqual(listed.messages, []);
    const g = sandbox.banciws!.gateway.counters;
    assert.equal(g.certificateRequests, 1, 'one renegotiation asked for the certificate');
    assert.equal(g.certificatesAccepted, 1);
    assert.equal(g.nonceHops, 1);
    assert.equal(c.session.stats.bootstraps, 1);
    // After the login the jar alone carries the session: more calls, no more renegotiations.
    const pdf = testSignedPdf('Raport 1');
    const up = await c.upload(pdf);
    assert.equal(up.executionStatus, 0);
    const status = await c.status(up.indexIncarcare!);
    assert.equal(status.executionStatus, 0);
    const answer = await c.download(status.idPortal!);
    assert.match(Buffer.from(answer.pdfBase64!, 'base64').toString('latin1'), /^%PDF-/);
    assert.equal(sandbox.banciws!.gateway.counters.certificateRequests, 1);
    assert.equal(c.session.stats.bootstraps, 1);
    // The institution is who the certificate says: its OU.
    assert.equal(sandbox.banciws!.service.uploads.get(up.indexIncarcare!)?.cui, CUI);
  });

  test('a session that expired mid-run is re-established once while 20 concurrent calls wait, then each call is replayed', async () => {
    const c = client();
    await c.list('1');
    assert.equal(c.session.stats.bootstraps, 1);
    sandbox.clock.advance(sandbox.banciws!.options.sessionIdleMs + 1_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => c.list('2')));
    assert.equal(results.length, 20);
    for (const r of results) assert.deepEqual(r.messages, []);
    assert.equal(c.session.stats.bootstraps, 2, 'exactly one re-bootstrap');
    assert.equal(sandbox.banciws!.gateway.counters.certificateRequests, 2);
    assert.equal(sandbox.banciws!.gateway.counters.expired, 1);
    assert.equal(sandbox.banciws!.service.counters.listings, 1 + 2 + 20, 'two probes plus every call exactly once');
  });

  test('revalidation hops (/my.policy_nonce) are followed without a new login', async () => {
    sandbox.banciws!.options.revalidateEvery = 3;
    try {
      const c = client();
      for (let i = 0; i < 7; i++) await c.list('1');
      assert.equal(c.session.stats.bootstraps, 1);
      assert.ok(c.session.stats.nonceHops >= 2, `nonce hops followed: ${c.session.stats.nonceHops}`);
      assert.equal(sandbox.banciws!.gateway.counters.certificateRequests, 1);
    } finally {
      sandbox.banciws!.options.revalidateEvery = 0;
    }
  });

  test('the 200 page "Certificatul nu a fost prezentat" is recognised, not parsed: a wrong certificate fails with a clear error', async () => {
    const foreign = await writeClientCredentials(sandbox.banciws!, CUI, { foreignCa: true });
    const c = client({ clientCert: foreign.clientCert, clientKey: foreign.clientKey });
    await assert.rejects(c.list('1'), (err: unknown) => {
      assert.ok(err instanceof BanciwsGatewayError);
      assert.equal(err.problem.kind, 'CERTIFICATE_REFUSED');
      assert.match(err.message, /did not accept the client certificate/);
      return true;
    });
    assert.equal(sandbox.banciws!.gateway.counters.certificatesRefused, 1);
    assert.equal(sandbox.banciws!.service.counters.listings, 0);
  });

  test('hang-up without a certificate fails with a clear error', async () => {
    sandbox.banciws!.options.noCertificate = 'hangup';
    try {
      const foreign = await writeClientCredentials(sandbox.banciws!, CUI, { foreignCa: true });
      const c = client({ clientCert: foreign.clientCert, clientKey: foreign.clientKey });
      await assert.rejects(c.list('1'), /hung up .*certificate was not presented or not accepted/);
    } finally {
      sandbox.banciws!.options.noCertificate = 'page';
    }
  });

  test('a missing certificate is a configuration error naming the variables', () => {
    assert.throws(
      () => new BanciwsClient({ baseUrl: sandbox.banciws!.baseUrl, credentials: { ca: creds.ca } }),
      (err: unknown) => err instanceof BanciwsCredentialsError && /BANCIWS_CLIENT_CERT \+ BANCIWS_CLIENT_KEY, or BANCIWS_PFX/.test(err.message),
    );
    assert.throws(
      () => new BanciwsClient({ baseUrl: sandbox.banciws!.baseUrl, credentials: { clientCert: creds.clientCert, clientKey: '/nonexistent/key.pem' } }),
      /BANCIWS key \(BANCIWS_CLIENT_KEY\) file \/nonexistent\/key.pem cannot be read/,
    );
  });

  test('the server certificate is verified: without the sandbox CA the call is not sent', async () => {
    const c = client({ ca: undefined });
    await assert.rejects(c.list('1'), (err: unknown) => (err as { phase?: string }).phase === 'NOT_SENT');
  });

  test('neither cookies nor the key reach the logs', async () => {
    const c = client();
    await c.list('1');
    const text = logs.lines.join('\n');
    for (const [id] of sandbox.banciws!.gateway.sessions) assert.ok(!text.includes(id), 'MRHSession value logged');
    assert.ok(!/PRIVATE KEY/.test(text));
  });
});
