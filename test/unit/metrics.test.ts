import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { anafFetch } from '../../activities/anaf/http';
import { ConfigError } from '../../lib/config/config';
import { createLogger } from '../../lib/observability/logger';
import { endpointTemplate, metricsRequestAllowed, metricsText } from '../../lib/observability/metrics';
import { startMetricsServer } from '../../workers/metrics-server';
import { testConfig } from '../../devkit/config';

describe('metrics', () => {
  test('endpoint templates drop ids, CIFs and query strings', () => {
    assert.equal(endpointTemplate('https://api.anaf.ro/prod/FCTEL/rest/stareMesaj?id_incarcare=5001'), '/prod/FCTEL/rest/stareMesaj');
    assert.equal(endpointTemplate('https://api.anaf.ro/prod/FCTEL/rest/validare/FACT1'), '/prod/FCTEL/rest/validare/FACT1');
    assert.equal(endpointTemplate('https://api.anaf.ro/test/ETRANSPORT/ws/v1/lista/60/14399840'), '/test/ETRANSPORT/ws/v1/lista/:id/:id');
    assert.equal(endpointTemplate('https://api.anaf.ro/x/RO14399840/a1b2c3d4-e5f6-4711-8899-aabbccddeeff'), '/x/:id/:id');
    assert.equal(endpointTemplate('https://logincert.anaf.ro/anaf-oauth2/v1/token'), '/anaf-oauth2/v1/token');
    assert.equal(endpointTemplate('not a url'), 'unparseable');
  });

  test('METRICS_TOKEN: open without one; with one, only the exact bearer', () => {
    assert.equal(metricsRequestAllowed(undefined, undefined), true);
    assert.equal(metricsRequestAllowed('Bearer metrics-token-0123456789', 'metrics-token-0123456789'), true);
    assert.equal(metricsRequestAllowed('Bearer metrics-token-012345678', 'metrics-token-0123456789'), false);
    assert.equal(metricsRequestAllowed(undefined, 'metrics-token-0123456789'), false);
  });

  test('configuration: metrics port, core exporter address, token, BANCIWS budget', () => {
    const c = testConfig();
    assert.deepEqual(c.metrics, { workerPort: 9464, workerHost: '127.0.0.1', temporalCoreBind: '127.0.0.1:9465', token: undefined });
    assert.equal(c.temporal.banciwsTaskQueue, `${c.temporal.taskQueue}-banciws-calls`);
    const d = testConfig({ WORKER_METRICS_PORT: '0', TEMPORAL_METRICS_BIND: 'off', BANCIWS_CALLS_PER_MINUTE: '120' });
    assert.equal(d.metrics.workerPort, undefined);
    assert.equal(d.metrics.temporalCoreBind, undefined);
    assert.equal(d.temporal.banciwsCallsPerSecond, 2);
    for (const [name, value] of [
      ['WORKER_METRICS_PORT', '70000'],
      ['TEMPORAL_METRICS_BIND', 'http://x:1'],
      ['METRICS_TOKEN', 'short'],
      ['BANCIWS_CALLS_PER_MINUTE', '-1'],
    ]) {
      assert.throws(
        () => testConfig({ [name!]: value! }),
        (e: unknown) => e instanceof ConfigError && e.variable === name,
      );
    }
  });

  describe('over HTTP', () => {
    let server: http.Server;
    let base: string;
    before(async () => {
      server = http.createServer((req, res) => {
        if (req.url?.startsWith('/busy')) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
        else res.writeHead(200).end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const sample = (text: string, name: string, needle: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name}{`) && l.includes(needle))
          ?.split(' ')
          .at(-1) ?? 0,
      );

    test('anafFetch counts every call once: status, 429s and transport failures', async () => {
      const host = new URL(base).host;
      const before429 = sample(await metricsText(), 'anaf_rate_limited_total', `host="${host}"`);
      await anafFetch({ method: 'GET', url: `${base}/busy/12345?secret=x` });
      await anafFetch({ method: 'GET', url: `${base}/fine` });
      await assert.rejects(anafFetch({ method: 'GET', url: 'http://127.0.0.1:1/refused' }));
      const text = await metricsText();
      assert.equal(sample(text, 'anaf_rate_limited_total', `host="${host}",endpoint="/busy/:id"`), before429 + 1);
      assert.equal(sample(text, 'anaf_calls_total', `endpoint="/busy/:id",method="GET",status="429"`), 1);
      assert.equal(sample(text, 'anaf_calls_total', `endpoint="/fine",method="GET",status="200"`), 1);
      assert.equal(sample(text, 'anaf_calls_total', `endpoint="/refused",method="GET",status="transport_NOT_SENT"`), 1);
      assert.ok(!text.includes('secret=x'));
    });

    test("the worker's /metrics server: bearer token, our series, the core exporter's appended", async () => {
      const core = http.createServer((_req, res) =>
        res.writeHead(200).end('# TYPE temporal_worker_start counter\ntemporal_worker_start 1\n'),
      );
      await new Promise<void>((resolve) => core.listen(0, '127.0.0.1', resolve));
      const metrics = await startMetricsServer({
        port: 0,
        host: '127.0.0.1',
        token: 'metrics-token-0123456789',
        temporalCoreBind: `127.0.0.1:${(core.address() as AddressInfo).port}`,
        logger: createLogger({ level: 'silent' }),
      });
      try {
        const denied = await request(metrics.url);
        assert.equal(denied.statusCode, 401);
        await denied.body.dump();
        const ok = await request(metrics.url, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
        assert.equal(ok.statusCode, 200);
        const text = await ok.body.text();
        assert.match(text, /^anaf_calls_total\{/m);
        assert.match(text, /^temporal_worker_start 1$/m);
        const other = await request(metrics.url.replace('/metrics', '/other'), {
          headers: { authorization: 'Bearer metrics-token-0123456789' },
        });
        assert.equal(other.statusCode, 404);
        await other.body.dump();
      } finally {
        await metrics.close();
        await new Promise<void>((resolve) => core.close(() => resolve()));
      }
    });
  });
});
