import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { callApi } from '../../devkit/api-client';
import { HOSTILE_XML_KINDS, hostileXml } from '../../devkit/fixtures/hostile-xml';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { BENCH_TENANT, Harness } from '../../devkit/process-harness';
import { freePort } from '../../devkit/ports';
import { spawnProductProcess } from '../../devkit/product-process';
import { eventually } from '../../devkit/wait';
import { loadConfig } from '../../lib/config/config';

/**
 * Issue 15 item 6, the resource test: ten worst-case ~10 MB XML bodies posted at once to an
 * API process of its own (as production runs it), /healthz polled alongside, and a normal
 * invoice of another tenant posted during the storm.
 *
 * The assertion on responsiveness is the API's own event-loop delay (the maximum that
 * perf_hooks.monitorEventLoopDelay saw during the storm, read from /metrics, whose scrape
 * resets it): it is what a blocked loop is, and it does not move when this test process, which
 * also builds and sends 100 MB, or another job on the machine, is slow to read an answer.
 * The client-side /healthz latencies (process.hrtime, polled open-loop) are measured and
 * reported alongside, not asserted: they include this process's own stalls while it sends
 * 100 MB, and the scheduling of every other job on the machine.
 * Memory: the API process's peak RSS (VmHWM) over the whole storm, against a ceiling derived
 * from its configuration (see rssCeilingMb).
 */

const STORM_TENANTS = ['storm1', 'storm2', 'storm3', 'storm4', 'storm5'].map((tenant) => ({
  tenant,
  key: `${tenant}-key-0123456789abcdef`,
}));
const CIF = '14399840';
/** The budget: /healthz p99 under 200 ms during the storm. */
const LOOP_BUDGET_MS = 200;
/**
 * No single stall this long: one hostile parse on the event loop blocks it 1.5-9 s; a machine
 * loaded several times over its cores (CI runs two test files at once) stalls it ~300 ms.
 */
const LOOP_MAX_MS = 1000;

const statusLine = (pid: number, field: string): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const metric = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

describe('XML storm: the API stays responsive and bounded while hostile XML is refused', { timeout: 240_000 }, () => {
  let harness: Harness;
  let api: ChildProcess;
  let apiUrl: string;
  let apiStderr = '';
  let apiExit: string | undefined;

  before(async () => {
    const keys = [BENCH_TENANT, ...STORM_TENANTS].map((t) => `${t.tenant}:${t.key}`).join(',');
    harness = await Harness.start({ label: 'xml-storm', env: { API_KEYS: keys } });
    await harness.spawnWorker();
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    api = spawnProductProcess('api/main.ts', {
      ...process.env,
      ...harness.env,
      API_PORT: String(port),
      API_PUBLIC_URL: apiUrl,
      LOG_LEVEL: 'warn',
    });
    api.stdout?.resume();
    api.stderr?.on('data', (chunk: Buffer) => (apiStderr = (apiStderr + chunk.toString()).slice(-2000)));
    api.once('exit', (code, signal) => (apiExit = `${code ?? signal}`));
    await eventually(
      () =>
        request(`${apiUrl}/healthz`).then(
          (r) => r.statusCode,
          () => 0,
        ),
      (status) => status === 200,
      'the API process answers /healthz',
      60_000,
    );
    const org = await callApi({ apiUrl }, BENCH_TENANT.key, 'POST', '/v1/organizations', { json: { cif: CIF, name: 'Acme SRL' } });
    assert.ok([200, 201].includes(org.status), org.text);
  });

  after(async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    }
    await harness?.close();
  });

  const postInvoice = (key: string, xml: Buffer | string, idempotencyKey: string) =>
    callApi({ apiUrl }, key, 'POST', `/v1/efactura/invoices?cif=${CIF}&standard=UBL`, {
      body: xml,
      headers: { 'idempotency-key': idempotencyKey },
    });

  test('ten worst-case bodies: each a typed 4xx, /healthz answered throughout, a normal invoice accepted, RSS bounded', async () => {
    const config = loadConfig({ ...harness.env }, { generateDevSecrets: false }).xmlParsing;
    const invoice = (n: string) => ublInvoice({ supplierCif: CIF, buyerCif: '18547290', number: n });
    // Warm-up: the parse threads exist and a normal invoice goes through before anything is measured.
    assert.equal((await postInvoice(BENCH_TENANT.key, invoice('WARM-1'), 'warm-1')).status, 202);
    const baselineMb = statusLine(api.pid!, 'VmRSS');
    const bodies = Array.from({ length: 10 }, (_, i) => ({
      tenant: STORM_TENANTS[i % STORM_TENANTS.length]!,
      kind: HOSTILE_XML_KINDS[i % HOSTILE_XML_KINDS.length]!,
    }));
    const xml = new Map(HOSTILE_XML_KINDS.map((k) => [k, hostileXml(k)]));
    // Resets the event-loop histogram: the next scrape reports the storm only.
    await request(`${apiUrl}/metrics`).then((r) => r.body.text());

    // Open loop: a /healthz request every 25 ms whether or not the last one came back, so a
    // blocked API shows as many slow answers, not as one (no coordinated omission).
    const healthMs: number[] = [];
    const healthStatuses = new Set<number>();
    const inFlight = new Set<Promise<void>>();
    const ticker = setInterval(() => {
      const t0 = process.hrtime.bigint();
      const one = request(`${apiUrl}/healthz`, { headersTimeout: 60_000, bodyTimeout: 60_000 })
        .then(async (res) => {
          await res.body.text();
          healthStatuses.add(res.statusCode);
        })
        .catch(() => void healthStatuses.add(0))
        .finally(() => {
          healthMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
          inFlight.delete(one);
        });
      inFlight.add(one);
    }, 25);
    const started = Date.now();
    let answers: Array<(typeof bodies)[number] & { r: Awaited<ReturnType<typeof postInvoice>>; ms: number }>;
    let normal: Awaited<ReturnType<typeof postInvoice>>;
    try {
      const storm = Promise.all(
        bodies.map((b, i) =>
          postInvoice(b.tenant.key, xml.get(b.kind)!, `storm-${i}`).then((r) => ({ ...b, r, ms: Date.now() - started })),
        ),
      );
      // While the hostile bodies are being parsed, another tenant's normal invoice is accepted.
      await eventually(
        async () => healthMs.length,
        (polls) => polls >= 5,
        '/healthz polled during the storm',
        30_000,
      );
      normal = await postInvoice(BENCH_TENANT.key, invoice('INV-DURING-STORM'), 'during-storm');
      answers = await storm;
    } catch (err) {
      throw new Error(`the storm failed (API process exit: ${apiExit ?? 'still running'}; its stderr: ${apiStderr.slice(-500)})`, {
        cause: err,
      });
    } finally {
      clearInterval(ticker);
      await Promise.allSettled(inFlight);
    }
    const metrics = await (await request(`${apiUrl}/metrics`)).body.text();
    const loopMaxMs = metric(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000;
    const loopP99Ms = metric(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000;
    const peakMb = statusLine(api.pid!, 'VmHWM');
    const ceilingMb = rssCeilingMb(baselineMb, config);
    const report = {
      answers: answers.map((a) => `${a.kind}/${a.tenant.tenant}: ${a.r.status} ${a.r.json?.error?.code} in ${a.ms} ms`),
      normal: normal.status,
      healthz: {
        polls: healthMs.length,
        p50: percentile(healthMs, 50).toFixed(1),
        p99: percentile(healthMs, 99).toFixed(1),
        max: Math.max(...healthMs).toFixed(1),
      },
      serverLoop: { maxMs: loopMaxMs.toFixed(1), p99Ms: loopP99Ms.toFixed(1) },
      rss: { baselineMb: Math.round(baselineMb), peakMb: Math.round(peakMb), ceilingMb: Math.round(ceilingMb) },
    };
    console.log(JSON.stringify(report, null, 2));

    for (const a of answers) {
      assert.ok([422, 429].includes(a.r.status), `${a.kind}: ${a.r.status} ${a.r.text.slice(0, 200)}`);
      assert.ok(
        ['XML_TOO_COMPLEX', 'XML_PARSE_TIMEOUT', 'TOO_MANY_PARSES'].includes(a.r.json?.error?.code),
        `${a.kind}: ${a.r.text.slice(0, 200)}`,
      );
      if (a.r.status === 429) assert.match(String(a.r.headers['retry-after']), /^\d+$/);
    }
    assert.ok(answers.filter((a) => a.r.status === 422).length >= 4, 'most bodies were parsed and stopped by a cap, not only turned away');
    assert.equal(normal.status, 202, normal.text);
    assert.deepEqual([...healthStatuses], [200]);
    assert.ok(loopP99Ms < LOOP_BUDGET_MS, `the API's event-loop delay p99 was ${loopP99Ms.toFixed(0)} ms during the storm`);
    assert.ok(loopMaxMs < LOOP_MAX_MS, `the API's event loop was blocked ${loopMaxMs.toFixed(0)} ms at once during the storm`);
    assert.ok(peakMb < ceilingMb, `the API's RSS peaked at ${peakMb.toFixed(0)} MB, above its ceiling of ${ceilingMb.toFixed(0)} MB`);
  });
});

/**
 * What the API process may hold during a storm: what it held idle, plus for each parse thread
 * its heap cap and ~100 MB of young generation, code and the document's copies, plus the
 * bodies buffered on the main thread (up to maxPending + the storm's excess, 10 MB each, about
 * twice over while they are read).
 */
function rssCeilingMb(baselineMb: number, limits: { threads: number; memoryMb: number }): number {
  return baselineMb + limits.threads * (limits.memoryMb + 100) + 10 * 10 * 2;
}
