import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES, failureForProblem } from '../../activities/anaf/failures';
import { BANCIWS_FAILURES, createBanciwsActivities } from '../../activities/banciws';
import { BanciwsAnswerError, BanciwsClient } from '../../activities/banciws/client';
import { BanciwsCredentialsError } from '../../activities/banciws/credentials';
import { BanciwsGatewayError } from '../../activities/banciws/transport';
import type { BlobStore } from '../../lib/storage/blob-store';
import { anafF5Rebootstraps } from '../../lib/observability/metrics';
import { buildListAnswer } from '../../schemas/banciws/xml';
import { createSandbox, type RunningSandbox } from '../../sandbox';
import { NO_MESSAGES } from '../../sandbox/banciws';
import { captureLogs } from '../../devkit/stack';
import { testSignedPdf, type TestCredentials, writeClientCredentials } from '../../devkit/fixtures/banciws';

/**
 * The F5 session against the sandbox's real HTTPS/TLS front: the certificate is asked for
 * by a server-initiated renegotiation, so these tests prove Node's TLS client completes it.
 */

const CUI = '361820';
/** An institution nobody ever wrote to. */
const EMPTY_CUI = '14399840';

/** anaf_f5_rebootstraps_total for the sandbox's host, by reason. */
async function rebootstraps(host: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await anafF5Rebootstraps.get()).values) if (v.labels.host === host) out[String(v.labels.reason)] = v.value;
  return out;
}

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
    const host = new URL(sandbox.banciws!.baseUrl).host;
    const metricBefore = await rebootstraps(host);
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
    const metric = await rebootstraps(host);
    assert.equal((metric.INITIAL ?? 0) - (metricBefore.INITIAL ?? 0), 1, 'anaf_f5_rebootstraps_total{reason="INITIAL"}');
    assert.equal(
      (metric.POLICY_REDIRECT ?? 0) - (metricBefore.POLICY_REDIRECT ?? 0),
      1,
      'anaf_f5_rebootstraps_total{reason="POLICY_REDIRECT"}: one, not 20',
    );
  });

  test('the APM logon page with 200 is a lost session: one new login, one replay, counted in anaf_f5_rebootstraps_total', async () => {
    const host = new URL(sandbox.banciws!.baseUrl).host;
    const c = client();
    await c.list('1');
    const before = await rebootstraps(host);
    sandbox.faults.add({ route: '/BANCIWS/rest/listaMesaje', method: 'POST', html: 'gateway', times: 1 });
    const listed = await c.list('1');
    assert.ok(Array.isArray(listed.messages));
    assert.equal(c.session.stats.bootstraps, 2);
    assert.equal(c.session.stats.replays, 1);
    const after = await rebootstraps(host);
    assert.equal((after.HTML_PAGE ?? 0) - (before.HTML_PAGE ?? 0), 1);
  });

  test('an HTML 502 on uploadMesaj is not a lost session: no new login, no replay, one upload; for the workflow the answer is lost (reconcile)', async () => {
    const c = client();
    await c.list('1');
    const service = sandbox.banciws!.service;
    // The proxy's page after the service processed the upload (the case that would file the report twice if replayed)…
    sandbox.banciws!.failAfterProcessing({ method: 'uploadMesaj', status: 502 });
    await assert.rejects(c.upload(testSignedPdf('Raport 502')), (err: unknown) => {
      assert.ok(err instanceof BanciwsAnswerError, String(err));
      assert.equal(err.problem.kind, 'SERVER_ERROR');
      const failure = failureForProblem(err.problem, { operation: 'BANCIWS uploadMesaj', idempotent: false });
      assert.equal(failure.type, FAILURE_TYPES.ANSWER_LOST);
      assert.equal(failure.nonRetryable, true);
      return true;
    });
    assert.equal(service.counters.uploads, 1, 'the upload reached the service once and was not replayed');
    // …and a 504 page from the gateway's front (fault rule: the service never saw it) is classified the same way: we cannot tell them apart.
    sandbox.faults.add({
      route: '/BANCIWS/rest/uploadMesaj',
      method: 'POST',
      status: 504,
      body: '<html><body><h1>504 Gateway Time-out</h1></body></html>',
      times: 1,
    });
    await assert.rejects(
      c.upload(testSignedPdf('Raport 504')),
      (err: unknown) => err instanceof BanciwsAnswerError && err.problem.kind === 'SERVER_ERROR',
    );
    assert.equal(service.counters.uploads, 1);
    assert.equal(c.session.stats.bootstraps, 1, 'no new login');
    assert.equal(c.session.stats.replays, 0, 'nothing replayed');
    // A read meeting the same page is simply retried later (retryable SERVER_ERROR).
    sandbox.banciws!.failAfterProcessing({ method: 'stareMesaj', status: 503 });
    const index = [...service.uploads.keys()][0]!;
    await assert.rejects(
      c.status(index),
      (err: unknown) =>
        err instanceof BanciwsAnswerError &&
        failureForProblem(err.problem, { operation: 'read', idempotent: true }).type === FAILURE_TYPES.SERVER_ERROR,
    );
    assert.equal((await c.status(index)).executionStatus, 0);
  });

  test('an empty inbox ("Nu exista mesaje") is an empty list for the inbox and for reconciliation; another Mesaj_eroare is a typed failure', async () => {
    const creds = await writeClientCredentials(sandbox.banciws!, EMPTY_CUI);
    const institution = { id: 'leer', tenant: 'acme', cui: EMPTY_CUI, zile: '1', pollEveryMinutes: 0, ...creds };
    const activities = createBanciwsActivities({
      config: {
        anaf: { banciwsBaseUrl: sandbox.banciws!.baseUrl } as never,
        banciws: {
          clientCert: undefined,
          clientKey: undefined,
          pfx: undefined,
          passphrase: undefined,
          ca: undefined,
          institutions: [institution],
          firstPollDelayMs: 0,
          maxPollIntervalMs: 0,
          listingDelayMs: 0,
        },
      },
      blobs: {} as BlobStore,
      logger: logs.logger,
    });
    const ref = { tenant: 'acme', institutionId: 'leer' };
    // What the sandbox answers, as ANAF does.
    const raw = await client({ clientCert: creds.clientCert, clientKey: creds.clientKey }).list('1');
    assert.deepEqual(raw, { error: NO_MESSAGES, messages: [] });
    assert.deepEqual(await activities.listBanciwsMessages({ ...ref, zile: '1' }), []);
    assert.deepEqual(await activities.findBanciwsUpload({ ...ref, sinceMs: Date.now() - 60_000, ownedIndexes: [] }), {
      candidates: [],
      newlyChecked: [],
      receipts: 0,
    });
    // A real error stays one: a refused listing must not pass for "no receipt" either.
    const refused = await buildListAnswer({ error: 'Eroare tehnica la interogarea mesajelor', messages: [] });
    sandbox.faults.add({ route: '/BANCIWS/rest/listaMesaje', method: 'POST', body: refused, contentType: 'application/xml', times: 2 });
    const isRefused = (err: unknown) =>
      err instanceof ApplicationFailure &&
      err.type === BANCIWS_FAILURES.LIST_REFUSED &&
      err.nonRetryable &&
      /Eroare tehnica/.test(err.message);
    await assert.rejects(activities.listBanciwsMessages({ ...ref, zile: '1' }), isRefused);
    await assert.rejects(activities.findBanciwsUpload({ ...ref, sinceMs: Date.now() - 60_000, ownedIndexes: [] }), isRefused);
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
      (err: unknown) =>
        err instanceof BanciwsCredentialsError && /BANCIWS_CLIENT_CERT \+ BANCIWS_CLIENT_KEY, or BANCIWS_PFX/.test(err.message),
    );
    assert.throws(
      () =>
        new BanciwsClient({
          baseUrl: sandbox.banciws!.baseUrl,
          credentials: { clientCert: creds.clientCert, clientKey: '/nonexistent/key.pem' },
        }),
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
